"""The reliable queue against a real Redis: no job lost, bad input buried, clear errors."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis_support import HAVE_REDIS, needs_redis

from aiocourse.queue import (
    BadPayload,
    JobQueue,
    RedisUnavailable,
    Worker,
    connect,
    parse_units,
    sleep_job,
)
from aiocourse.queue.__main__ import main as cli
from aiocourse.redis_server import RedisServer, find_redis_server

UNIT = 0.01  # seconds: faster than the notebooks' 0.05; the tests compare counts, not times


@pytest.fixture(scope="module")
def url():
    if not HAVE_REDIS:
        pytest.skip("NO REDIS-SERVER FOUND (apt-get install redis-server)")
    with RedisServer(url=None, executable=find_redis_server()) as server:
        yield server.url


def run(coro):
    return asyncio.run(coro)


async def fresh_queue(url: str, name: str, visibility_timeout: float | None = None) -> JobQueue:
    queue = JobQueue(await connect(url), name, visibility_timeout=visibility_timeout)
    await queue.reset()
    return queue


async def until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


# --- payloads -------------------------------------------------------------------------------


@pytest.mark.parametrize("data, expected", [(b"0", 0), (b"2", 2), (b"100", 100)])
def test_parse_units_accepts_whole_numbers(data, expected):
    assert parse_units(data) == expected


@pytest.mark.parametrize("data, reason", [
    (b"abc", "not a whole number: 'abc'"),
    (b"-3", "negative: -3"),
    (b"101", "too big: 101 units (at most 100)"),
    (b"1" * 40, "too big: 40 digits"),
    (b"\xff\xfe\x00", "binary, not text"),
    (b"", "not a whole number: ''"),
    (b" 2", "not a whole number"),
    (b"+2", "not a whole number"),
    (b"2.5", "not a whole number"),
    ("\u0663".encode(), "not a whole number"),  # int() would accept this Arabic-Indic 3
])
def test_parse_units_rejects_with_a_reason(data, reason):
    with pytest.raises(BadPayload) as caught:
        parse_units(data)
    assert reason in caught.value.reason


# --- the worker -----------------------------------------------------------------------------


@needs_redis
def test_jobs_run_with_a_bound_and_each_result_is_stored(url):
    async def main():
        queue = await fresh_queue(url, "t-bound")
        ids = await queue.push(*["2"] * 12)
        worker = Worker(queue, sleep_job(UNIT), name="w", concurrency=4)
        task = asyncio.create_task(worker.run())
        await until(lambda: _count(queue, "results", 12))
        worker.stop()
        stats = await task
        assert stats.done == 12 and stats.max_running == 4
        assert await queue.results() == {i: "2" for i in ids}
        s = await queue.stats()
        assert (s.waiting, s.running, s.dead) == (0, 0, 0)
        assert await queue.redis.xlen(queue.stream) == 0  # acknowledged and deleted
        # Results stay until the producer collects them; then they are gone.
        assert await queue.pop_results([*ids[:2], "0-1"]) == {ids[0]: "2", ids[1]: "2",
                                                               "0-1": None}
        assert len(await queue.results()) == 10
        await queue.redis.aclose()

    run(main())


async def _count(queue: JobQueue, what: str, n: int) -> bool:
    return getattr(await queue.stats(), what) >= n


@needs_redis
def test_bad_payloads_go_to_the_dead_letter_stream_and_the_worker_goes_on(url):
    async def main():
        queue = await fresh_queue(url, "t-bad")
        bad = [b"abc", b"-3", b"999999", b"\xff\xfe", b"x" * 1_000_000, b"9" * 30]
        ids = await queue.push(b"1", *bad, b"1")
        await queue.redis.xadd(queue.stream, {"other": "field"})  # no data field at all
        worker = Worker(queue, sleep_job(UNIT), name="w", concurrency=3)
        task = asyncio.create_task(worker.run())
        await until(lambda: _count(queue, "dead", 7))
        await until(lambda: _count(queue, "results", 2))
        worker.stop()
        stats = await task
        assert (stats.done, stats.dead, stats.failed) == (2, 7, 0)
        dead = await queue.dead_letters()
        reasons = sorted(d.reason for d in dead)
        assert reasons == sorted([
            "not a whole number: 'abc'", "negative: -3", "too big: 999999 units (at most 100)",
            "binary, not text: b'\\xff\\xfe'", "too large: 1,000,000 bytes (at most 1,024)",
            "too big: 30 digits (at most 100 units)", "no 'data' field"])
        big = next(d for d in dead if d.size == 1_000_000)
        assert big.payload == b"x" * 1_000_000  # the whole job, to look at or replay
        assert next(d for d in dead if d.payload is None).fields == {b"other": b"field"}
        assert set(await queue.results()) == {ids[0], ids[-1]}
        assert (await queue.stats()).running == 0
        await queue.redis.aclose()

    run(main())


@needs_redis
def test_graceful_stop_finishes_running_jobs_and_takes_no_new_ones(url):
    async def main():
        queue = await fresh_queue(url, "t-stop")
        await queue.push(*["10"] * 5)
        worker = Worker(queue, sleep_job(UNIT), name="w", concurrency=2)
        task = asyncio.create_task(worker.run())
        await until(lambda: _count(queue, "running", 2))
        t = time.monotonic()
        worker.stop()
        stats = await task
        took = time.monotonic() - t
        assert stats.done == 2, stats
        assert took < 10 * UNIT + 0.5  # the running jobs finished; nothing else was started
        s = await queue.stats()
        assert (s.waiting, s.running, s.results) == (3, 0, 2)
        await queue.redis.aclose()

    run(main())


def _worker_process(url: str, queue: str, name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "aiocourse.queue", "worker", "--url", url, "--queue", queue,
         "--name", name, "--unit", str(UNIT), "--concurrency", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # the queue's timeout


def _wait_for_lines(proc: subprocess.Popen, text: str, n: int) -> list[str]:
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if sum(text in s for s in seen) >= n:
            return seen
    raise AssertionError(f"the worker ended early: {''.join(seen)}")



class _LostCancels:
    """Make every redis-py command behave like Python 3.11's ``asyncio.wait_for`` at its worst.

    3.11's wait_for, which redis-py sends each command through (socket_timeout is 5 s by
    default), returns the result instead of raising CancelledError when cancel() arrives just
    as the command finishes (CPython gh-86296, fixed in 3.12).  Here every cancel() that
    arrives during a command is lost that way, and ``slow`` commands take that much longer.
    """

    def __init__(self, monkeypatch, slow: dict[str, float] | None = None) -> None:
        self.lost: list[str] = []
        self.slow = slow or {}
        self.reading = asyncio.Event()
        original = redis.asyncio.Redis.execute_command

        async def execute_command(client, *args, **options):
            name = str(args[0]).upper()
            if name == "XREADGROUP":
                self.reading.set()

            async def command():
                await asyncio.sleep(self.slow.get(name, 0))
                return await original(client, *args, **options)

            task = asyncio.ensure_future(command())
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                self.lost.append(name)
                return await task

        monkeypatch.setattr(redis.asyncio.Redis, "execute_command", execute_command)


@needs_redis
def test_graceful_stop_cancels_nothing_so_a_lost_cancel_cannot_hang_it(url, monkeypatch):
    # A stop() that cancelled the lease renewer while its renewal was in flight would, on
    # Python 3.11, lose that cancel inside redis-py's wait_for and leave the renewer looping
    # for ever (gh-86296).  The renewer must end by itself: here every renewal is slow and
    # every cancel during a command is lost, and stop() still returns.
    lost = _LostCancels(monkeypatch, slow={"EVALSHA": 0.2})  # the renewal

    async def main():
        queue = await fresh_queue(url, "t-lost-stop", visibility_timeout=0.3)
        await queue.push("15", "15")  # 0.15 s jobs: the renewal at 0.1 s is still in flight
        worker = Worker(queue, sleep_job(UNIT), name="w")
        task = asyncio.create_task(worker.run())
        await until(lambda: _count(queue, "results", 2))
        worker.stop()
        finished, _ = await asyncio.wait([task], timeout=3)
        assert finished, f"run() did not return after stop(); lost cancels: {lost.lost}"
        assert task.result().done == 2 and lost.lost == []
        await queue.redis.aclose()

    run(main())


@needs_redis
def test_cancelling_run_works_even_when_the_cancel_is_lost_in_a_command(url, monkeypatch):
    lost = _LostCancels(monkeypatch)

    async def main():
        queue = await fresh_queue(url, "t-lost-cancel", visibility_timeout=0.3)
        worker = Worker(queue, sleep_job(UNIT), name="w")
        task = asyncio.create_task(worker.run())
        lost.reading.clear()
        await lost.reading.wait()  # the reader is inside XREADGROUP (it blocks up to 0.1 s)
        task.cancel()
        finished, _ = await asyncio.wait([task], timeout=3)
        assert lost.lost == ["XREADGROUP"]  # the cancel was lost, as on 3.11...
        assert finished and task.cancelled()  # ...and run() noticed it all the same
        await queue.redis.aclose()

    run(main())

@needs_redis
def test_no_job_is_lost_when_a_worker_is_killed_mid_job(url):
    async def main():
        queue = await fresh_queue(url, "t-kill", visibility_timeout=0.3)
        ids = await queue.push(*["30"] * 6)
        victim = _worker_process(url, "t-kill", "victim")
        try:
            await asyncio.to_thread(_wait_for_lines, victim, "Waiting 30", 4)
            victim.send_signal(signal.SIGKILL)  # mid-job: 4 running, 2 waiting
        finally:
            victim.kill()
            victim.wait()
            victim.stdout.close()
        s = await queue.stats()
        assert (s.running, s.waiting, s.results) == (4, 2, 0)
        rescuer = Worker(queue, sleep_job(UNIT), name="rescuer", concurrency=6)
        task = asyncio.create_task(rescuer.run())
        await until(lambda: _count(queue, "results", 6))
        rescuer.stop()
        stats = await task
        assert stats.recovered == 4 and stats.done == 6
        assert sorted(await queue.results()) == sorted(ids)  # every job, exactly once
        assert (await queue.stats()).running == 0
        await queue.redis.aclose()

    run(main())


@needs_redis
def test_a_paused_worker_s_job_runs_twice_but_counts_once(url):
    # SIGSTOP: the worker stops renewing; another takes its jobs over and finishes them.  When
    # it wakes up it finishes them too: results are keyed by job id, so nothing counts twice.
    async def main():
        queue = await fresh_queue(url, "t-pause", visibility_timeout=0.3)
        ids = await queue.push(*["20"] * 3)
        sleeper = _worker_process(url, "t-pause", "sleeper")
        try:
            await asyncio.to_thread(_wait_for_lines, sleeper, "Waiting 20", 3)
            sleeper.send_signal(signal.SIGSTOP)
            rescuer = Worker(queue, sleep_job(UNIT), name="rescuer")
            task = asyncio.create_task(rescuer.run())
            await until(lambda: _count(queue, "results", 3))
            rescuer.stop()
            assert (await task).recovered == 3
            sleeper.send_signal(signal.SIGCONT)
            lines = await asyncio.to_thread(_wait_for_lines, sleeper, "Done 20", 3)
            sleeper.send_signal(signal.SIGTERM)  # graceful: it stops at once, nothing runs
            out, _ = await asyncio.to_thread(sleeper.communicate, timeout=10)
            assert "3 done" in out, lines + [out]
            assert sorted(await queue.results()) == sorted(ids)
            s = await queue.stats()
            assert (s.results, s.running, s.waiting, s.dead) == (3, 0, 0, 0)
        finally:
            sleeper.kill()
            sleeper.wait()
            sleeper.stdout.close()
        await queue.redis.aclose()

    run(main())


async def _holders(queue: JobQueue) -> set[str]:
    pending = await queue.redis.xpending_range(queue.stream, queue.group, "-", "+", 100)
    return {p["consumer"].decode() for p in pending}


@needs_redis
def test_a_worker_that_wakes_up_renews_only_the_jobs_still_its_own(url):
    # The worker froze (SIGSTOP) past the visibility timeout, the rescuer took its jobs over
    # and runs them.  When it wakes, its renewal is overdue and runs at once: an unconditional
    # XCLAIM ... JUSTID would take the jobs back from the rescuer (and the rescuer's next
    # renewal would take them back again).  It must leave them with the rescuer.
    async def main():
        queue = await fresh_queue(url, "t-frozen", visibility_timeout=0.3)
        ids = await queue.push("100", "100")  # 1 s jobs: still running on both sides
        sleeper = _worker_process(url, "t-frozen", "sleeper")
        try:
            await asyncio.to_thread(_wait_for_lines, sleeper, "Waiting 100", 2)
            sleeper.send_signal(signal.SIGSTOP)
            rescuer = Worker(queue, sleep_job(UNIT), name="rescuer")
            task = asyncio.create_task(rescuer.run())

            async def rescued() -> bool:
                return await _holders(queue) == {"rescuer"}

            await until(rescued)
            sleeper.send_signal(signal.SIGCONT)
            seen: set[str] = set()
            deadline = time.monotonic() + 0.35  # three of the sleeper's renewal periods
            while time.monotonic() < deadline:
                seen |= await _holders(queue)
                await asyncio.sleep(0.01)
            assert seen == {"rescuer"}, seen
            lines = await asyncio.to_thread(_wait_for_lines, sleeper, "no longer ours", 2)
            await until(lambda: _count(queue, "results", 2))
            rescuer.stop()
            assert (await task).recovered == 2
            sleeper.send_signal(signal.SIGTERM)
            out, _ = await asyncio.to_thread(sleeper.communicate, timeout=10)
            assert "2 done" in out, lines + [out]
            assert sorted(await queue.results()) == sorted(ids)  # both runs, counted once
            s = await queue.stats()
            assert (s.results, s.running, s.waiting, s.dead) == (2, 0, 0, 0)
        finally:
            sleeper.kill()
            sleeper.wait()
            sleeper.stdout.close()
        await queue.redis.aclose()

    run(main())


@needs_redis
def test_dead_letters_keep_the_whole_job_and_can_be_replayed(url):
    async def main():
        queue = await fresh_queue(url, "t-replay", visibility_timeout=0.05)
        service = {"up": False}

        async def call_service(data: bytes) -> int:
            if not service["up"]:
                raise ConnectionResetError("the other service hung up")
            return int(data)

        await queue.push("7")
        await queue.redis.xadd(queue.stream, {"data": "8", "tenant": "acme"})
        worker = Worker(queue, call_service, name="w", max_deliveries=2)
        task = asyncio.create_task(worker.run())
        await until(lambda: _count(queue, "dead", 2))
        worker.stop()
        await task
        dead = await queue.dead_letters()
        assert [d.payload for d in dead] == [b"7", b"8"]
        assert dead[1].fields == {b"data": b"8", b"tenant": b"acme"}  # every field kept
        assert {d.reason for d in dead} == {
            "gave up after 2 deliveries (last error: ConnectionResetError: the other service "
            "hung up)"}
        service["up"] = True  # fixed: put them back
        new_ids = await queue.replay_dead(dead)
        assert (await queue.stats()).dead == 0
        stats = await Worker(queue, call_service, name="w2").run(drain=True)
        assert stats.done == 2
        assert await queue.pop_results(new_ids) == dict(zip(new_ids, ["7", "8"], strict=True))
        # A letter nobody wants is discarded for good.
        await queue.push("oops")
        await Worker(queue, sleep_job(UNIT), name="w3").run(drain=True)
        [bad] = await queue.dead_letters()
        assert await queue.discard_dead([bad]) == 1 and (await queue.stats()).dead == 0
        await queue.redis.aclose()

    run(main())


@needs_redis
def test_the_visibility_timeout_is_the_queue_s_and_lives_in_redis(url):
    async def main():
        queue = await fresh_queue(url, "t-vt", visibility_timeout=0.3)
        same = JobQueue(queue.redis, "t-vt")  # another process would see the same
        await same.create()
        assert same.visibility_timeout == 0.3
        other = JobQueue(queue.redis, "t-vt", visibility_timeout=5)
        with pytest.raises(ValueError, match="exists with visibility_timeout=0.3 s, not 5"):
            await other.create()
        with pytest.raises(ValueError, match="not 5"):
            await Worker(other, sleep_job(UNIT)).run()
        await other.reset()  # a new queue: now 5 s
        assert other.visibility_timeout == 5
        await queue.redis.aclose()

    run(main())


@needs_redis
def test_a_failing_job_is_retried_then_buried_with_its_last_error(url):
    async def main():
        queue = await fresh_queue(url, "t-fail", visibility_timeout=0.1)
        calls = []

        async def flaky(data: bytes) -> int:
            calls.append(time.monotonic())
            raise ConnectionResetError("the other service hung up")

        await queue.push("1")
        worker = Worker(queue, flaky, name="w", max_deliveries=3)
        task = asyncio.create_task(worker.run())
        await until(lambda: _count(queue, "dead", 1))
        worker.stop()
        stats = await task
        assert len(calls) == 3 and stats.failed == 3
        # Backoff: the second try waits one visibility timeout, the third two (Redis' idle
        # time, in ms, decides: never early, so judged on the clock).
        assert calls[1] - calls[0] >= 0.095 and calls[2] - calls[1] >= 0.195, calls
        [dead] = await queue.dead_letters()
        assert dead.reason == ("gave up after 3 deliveries (last error: ConnectionResetError: "
                               "the other service hung up)")
        assert dead.payload == b"1"
        s = await queue.stats()
        assert (s.running, s.waiting) == (0, 0)
        await queue.redis.aclose()

    run(main())


# --- failures to connect ----------------------------------------------------------------------


def test_connection_refused_is_a_clear_error_at_once():
    with socket.socket() as s:  # a port that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = time.monotonic()
    with pytest.raises(RedisUnavailable, match="no Redis answered at redis://127.0.0.1"):
        run(connect(f"redis://127.0.0.1:{port}/0", timeout=1))
    assert time.monotonic() - t < 1.5


def test_a_server_that_never_answers_is_a_clear_error_not_a_hang():
    with socket.socket() as silent:  # accepts connections (backlog), never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        t = time.monotonic()
        with pytest.raises(RedisUnavailable, match="no answer"):
            run(connect(url, timeout=0.3))
        assert time.monotonic() - t < 1.0


def test_the_commands_need_a_url(monkeypatch, capsys):
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(SystemExit, match="no Redis given"):
        cli(["push", "1"])


def test_the_commands_report_an_unreachable_redis(capsys):
    assert cli(["status", "--url", "redis://127.0.0.1:1/0"]) == 2
    assert "no Redis answered" in capsys.readouterr().err


# --- the commands and the post's master ---------------------------------------------------------


@needs_redis
def test_push_and_status_commands(url, capsys):
    run(fresh_queue(url, "t-cli"))
    assert cli(["push", "--url", url, "--queue", "t-cli", "2", "x"]) == 0
    assert cli(["status", "--url", url, "--queue", "t-cli"]) == 0
    out = capsys.readouterr().out
    assert "pushed 2 job(s)" in out and "2 waiting, 0 running, 0 results, 0 dead" in out
    assert cli(["push", "--url", url, "--legacy", "2", "5"]) == 0
    assert capsys.readouterr().out == "(integer) 1\n(integer) 2\n"
    redis.Redis.from_url(url).delete("queue")


@needs_redis
def test_the_post_s_master_stops_when_told_and_finishes_its_jobs(url):
    from aiocourse.queue.legacy import run_master

    rcon = redis.Redis.from_url(url)
    rcon.delete("queue")
    rcon.lpush("queue", 2, "oops", 1)
    lines = []
    stop = threading.Event()
    master = threading.Thread(target=lambda: lines.append(
        run_master(url, unit=UNIT, stop=stop, log=lines.append)))
    master.start()
    # Told to stop once it has taken all three (a fixed sleep was too short on a busy machine:
    # CI once stopped it after the first job).  The deadline only bounds a failing run.
    deadline = time.monotonic() + 10
    while rcon.llen("queue") and time.monotonic() < deadline:
        time.sleep(UNIT / 4)
    stop.set()
    master.join(5)
    rcon.close()
    # Two threads write these lines (the master skips, the loop thread's jobs wait and finish),
    # so only each thread's own order is promised, not how the two interleave under load.
    assert lines[-1] == 2
    assert sorted(lines[:-1]) == sorted(["Waiting 2", "skipped b'oops': not a number",
                                         "Waiting 1", "Done 1", "Done 2"])
    jobs = [line for line in lines[:-1] if not line.startswith("skipped")]
    assert jobs == ["Waiting 2", "Waiting 1", "Done 1", "Done 2"]


@needs_redis
def test_the_server_command_prints_its_url_and_stops_on_sigterm(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    proc = subprocess.Popen([sys.executable, "-m", "aiocourse.queue", "server"],
                            stdout=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert "A private server is running" in first
        url = proc.stdout.readline().split("REDIS_URL=")[1].strip()
        assert redis.Redis.from_url(url).ping()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
        with pytest.raises(redis.ConnectionError):
            redis.Redis.from_url(url, socket_connect_timeout=0.5,
                                 retry=Retry(NoBackoff(), 0)).ping()
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def test_worker_refuses_nonsense_settings():
    queue = JobQueue(redis.asyncio.Redis(), "x")
    with pytest.raises(ValueError, match="concurrency"):
        Worker(queue, sleep_job(), concurrency=0)
    with pytest.raises(ValueError, match="max_deliveries"):
        Worker(queue, sleep_job(), max_deliveries=0)
    with pytest.raises(ValueError, match="visibility_timeout"):
        JobQueue(redis.asyncio.Redis(), "x", visibility_timeout=0)
    with pytest.raises(RuntimeError, match="await create"):
        _ = queue.visibility_timeout
