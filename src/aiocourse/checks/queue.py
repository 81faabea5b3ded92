"""Checks for notebooks 10 (master-worker over Redis) and 11 (a reliable queue).

    from aiocourse.checks.queue import check_blocking_master
    await check_blocking_master(master_blocking)   # prints feedback, returns True or False

Each check talks to the notebook's private Redis (``start_redis()``: the same server the
notebook uses, or REDIS_URL).  The masters of notebook 10 use the post's list ``queue``, which
the check empties before and after; notebook 11's checks use keys of their own.  A master is a
blocking function: the check runs it in a thread, feeds it jobs at known moments, and gives it
a ``work`` coroutine function that notes when each job started.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import threading
import time
from collections.abc import Callable

import redis
import redis.asyncio as aioredis

from ..exercises import Exercise, NotDone
from ..loop_thread import LoopThread
from ..queue.reliable import BadPayload
from ..redis_server import start_redis
from . import UNIT

__all__ = ["UNIT", "check_blocking_master", "check_poison_pill", "check_parse_job",
           "check_take_over"]

KEY = "queue"  # the post's list: the answers use it by name


class _Jobs:
    """The ``work`` coroutine function handed to a master: notes when each job started."""

    def __init__(self) -> None:
        self.started: list[tuple[int, float]] = []

    async def work(self, x: int) -> int:
        self.started.append((x, time.perf_counter()))
        await asyncio.sleep(x * UNIT)
        return x


def _unstick(rcon: redis.Redis) -> None:
    """Wake a master still blocked in Redis after the time limit: drop its connections."""
    with contextlib.suppress(Exception):
        rcon.connection_pool.disconnect()


async def _run_master(ex: Exercise, master: Callable, rcon: redis.Redis, args: tuple,
                      timeout: float):
    """Run ``master(*args)`` in a thread; a master that never returns is a failure, not a hang."""
    if not callable(master):
        ex.expect(False, "a function", got=type(master).__name__, stop=True)
    if inspect.iscoroutinefunction(master):
        ex.expect(False, "a plain function (def), like the post's master", got="async def",
                  hint="the master runs in the main thread and blocks it; the jobs are the "
                       "coroutines", stop=True)
    thread_result: concurrent.futures.Future = concurrent.futures.Future()

    def body() -> None:
        # A cancelled future means the check gave up waiting: nobody wants the outcome.
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            try:
                result = master(*args)
            except BaseException as exc:  # reported to the check below
                thread_result.set_exception(exc)
            else:
                thread_result.set_result(result)

    thread = threading.Thread(target=body, name="master", daemon=True)
    thread.start()
    try:
        return await ex.run(asyncio.wrap_future(thread_result), timeout=timeout)
    finally:
        if thread.is_alive():
            _unstick(rcon)
            await asyncio.to_thread(thread.join, 2)


def _futures(ex: Exercise, returned) -> list:
    ex.expect(isinstance(returned, list) and all(
        isinstance(f, concurrent.futures.Future) for f in returned),
        "returns the list of futures from run_coroutine_threadsafe", got=type(returned).__name__,
        hint="collect what asyncio.run_coroutine_threadsafe(...) returns and return that list",
        stop=True)
    return returned


async def check_blocking_master(master_blocking) -> bool:
    """Exercise 10.1: a master that waits in Redis (BLPOP) instead of sleeping between RPOPs."""
    ex = Exercise("10.1", "a master that blocks in Redis instead of polling")
    server = start_redis()
    rcon = redis.Redis.from_url(server.url)
    jobs = _Jobs()
    try:
        rcon.delete(KEY)
        async with ex.attempt():
            with LoopThread(name="workers") as lt:
                stop = threading.Event()
                pushed: list[float] = []

                async def producer() -> None:
                    for at, x in ((1.3, 1), (2.6, 2), (3.1, 1)):
                        await asyncio.sleep(max(0.0, t0 + at * UNIT - time.perf_counter()))
                        await asyncio.to_thread(rcon.lpush, KEY, x)
                        pushed.append(time.perf_counter())
                    await asyncio.sleep(UNIT)
                    stop.set()

                t0 = time.perf_counter()
                feeding = asyncio.create_task(producer())
                try:
                    returned = await _run_master(ex, master_blocking,
                                                 rcon, (rcon, lt.loop, stop, jobs.work),
                                                 timeout=20 * UNIT)
                finally:
                    feeding.cancel()
                    stop.set()
                    await asyncio.gather(feeding, return_exceptions=True)
                # seconds from `stop` (set one unit after the last push) to the master's return
                stopped_after = time.perf_counter() - pushed[-1] - UNIT if pushed else 0.0
                futures = _futures(ex, returned)
                results = [f.result(timeout=3 * UNIT * 4) for f in futures]
                ex.expect(results == [1, 2, 1], "hands over the jobs 1, 2, 1 in the order pushed",
                          got=results, hint="LPUSH adds on the left: take from the right "
                                            "(BRPOP), or push order is reversed", stop=True)
                delay = max(s - p for (_, s), p in zip(jobs.started, pushed, strict=True))
                # A master that sleeps a unit (50 ms) between polls starts one of these jobs at
                # least half a unit late, whatever its phase: the pushes' fractions (.1, .3, .6)
                # leave a gap of .5.  BRPOP starts them at once (15 ms seen under a CPU hog per
                # core).  The messages speak in ms: notebook 10's own UNIT is 0.1 s.
                ex.expect(delay < 0.4 * UNIT, f"each job starts within {0.4 * UNIT * 1000:.0f} "
                          "ms of its push (no sleeping between polls)",
                          got=f"{delay * 1000:.0f} ms", hint="BRPOP waits inside Redis and "
                          "answers as soon as an item arrives; time.sleep adds up to a whole sleep")
                ex.expect(stopped_after < 4 * UNIT, f"returns within {4 * UNIT:.1f} s after "
                          "`stop` is set", got=f"{stopped_after:.2f} s", hint="give BRPOP a "
                          "short timeout (e.g. timeout=UNIT) so the loop gets to look at `stop`")
    finally:
        with contextlib.suppress(redis.RedisError):
            rcon.delete(KEY)
        rcon.close()
    return ex.report()


async def check_poison_pill(master_until_stop) -> bool:
    """Exercise 10.2: a master that stops when it takes the item STOP from the queue."""
    ex = Exercise("10.2", "a master that stops at a STOP item")
    server = start_redis()
    rcon = redis.Redis.from_url(server.url)
    jobs = _Jobs()
    try:
        rcon.delete(KEY)
        rcon.lpush(KEY, 1, 2, "STOP", 3)
        async with ex.attempt():
            with LoopThread(name="workers") as lt:
                t0 = time.perf_counter()
                returned = await _run_master(ex, master_until_stop, rcon,
                                             (rcon, lt.loop, jobs.work), timeout=10 * UNIT)
                took = (time.perf_counter() - t0) / UNIT
                futures = _futures(ex, returned)
                results = [f.result(timeout=1) for f in futures]
            left = [x.decode() for x in rcon.lrange(KEY, 0, -1)]
            ex.expect(results == [1, 2], "hands over 1 and 2, the items before STOP",
                      got=results, hint="compare the item with b'STOP' before int(item)")
            ex.expect(left == ["3"], "leaves the item after STOP in the queue for later",
                      got=left, hint="return as soon as you take STOP")
            ex.expect(took < 2, "returns at once when it takes STOP", got=f"{took:.1f} units")
    finally:
        with contextlib.suppress(redis.RedisError):
            rcon.delete(KEY)
        rcon.close()
    return ex.report()


# --- notebook 11 ------------------------------------------------------------------------------

_GOOD = [(b"2", 2), (b"0", 0), (b"100", 100)]
_BAD = [b"abc", b"-3", b"101", b"99999999999999999999", b"\xff\xfe", b"", b"2.5", b" 2",
        "\u0663".encode(), b"x" * 1_000_000]


def check_parse_job(parse_job) -> bool:
    """Exercise 11.1: accept whole numbers 0..100, reject everything else with BadPayload."""
    ex = Exercise("11.1", "validate a payload")
    with ex.check():
        for data, expected in _GOOD:
            got = ex.call(parse_job, data)
            ex.expect(got == expected, f"{data!r} -> {expected}", got=got, stop=True)
        wrong = []
        for data in _BAD:
            try:
                got = ex.call(parse_job, data)
            except BadPayload as exc:
                if not exc.reason:
                    wrong.append(f"{data[:12]!r}: BadPayload without a reason")
            except (NotImplementedError, NotDone):
                raise
            except Exception as exc:
                wrong.append(f"{data[:12]!r}: {type(exc).__name__} instead of BadPayload")
            else:
                wrong.append(f"{data[:12]!r} was accepted as {got!r}")
        ex.expect(not wrong, "every bad payload raises BadPayload(reason)",
                  got="; ".join(wrong[:3]) + (" ..." if len(wrong) > 3 else ""),
                  hint="int() also accepts ' 2', '+2' and other scripts' digits: check the "
                       "bytes first (a regular expression such as rb'[0-9]+'), then the range")
    return ex.report()


async def check_take_over(take_over) -> bool:
    """Exercise 11.2: claim the jobs a dead consumer held for too long, and only those."""
    ex = Exercise("11.2", "take over a dead worker's jobs")
    server = start_redis()
    r = aioredis.Redis.from_url(server.url)
    stream, group = "check:jobs", "check"
    try:
        await r.delete(stream)
        await r.xgroup_create(stream, group, id="0", mkstream=True)
        for data in (b"a", b"b", b"c"):
            await r.xadd(stream, {"data": data})
        await r.xreadgroup(group, "ghost", {stream: ">"}, count=2)   # a, b: 'ghost' dies
        await asyncio.sleep(4 * UNIT)
        await r.xreadgroup(group, "ghost", {stream: ">"}, count=1)   # c: just delivered
        async with ex.attempt():
            got = await ex.run(take_over(r, stream, group, "me", int(2 * UNIT * 1000)),
                               timeout=1)
            ex.expect(isinstance(got, list), "returns a list of payloads",
                      got=type(got).__name__, stop=True)
            payloads = sorted(bytes(p) if isinstance(p, bytes | bytearray) else
                              str(p).encode() for p in got)
            ex.expect(payloads == [b"a", b"b"], "claims a and b (idle long enough), not c",
                      got=payloads, hint="r.xpending_range(stream, group, '-', '+', 100) lists "
                      "the held jobs with 'time_since_delivered'; r.xclaim(stream, group, me, "
                      "min_idle_ms, ids) returns [(id, fields), ...]: the payload is "
                      "fields[b'data']")
            owners = {}
            for p in await r.xpending_range(stream, group, "-", "+", 10):
                owners[p["consumer"].decode()] = owners.get(p["consumer"].decode(), 0) + 1
            ex.expect(owners == {"me": 2, "ghost": 1}, "after it, Redis lists a and b as "
                      "held by 'me', c still by 'ghost'", got=owners)
    finally:
        with contextlib.suppress(Exception):
            await r.delete(stream)
        await r.aclose()
    return ex.report()
