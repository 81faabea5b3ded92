"""Checks for notebook 13 (master-worker over Redis).

    from aiocourse.checks.master_worker_redis import check_blocking_master
    await check_blocking_master(master_blocking)   # prints feedback, returns True or False

Each check talks to the notebook's private Redis (``start_redis()``: the same server the
notebook uses, or REDIS_URL).  The masters use the post's list ``queue``, which the check
empties before and after.  A master is a blocking function: the check runs it in a thread,
feeds it jobs, and gives it a ``work`` coroutine function that logs each job it ran.  What the
master did in Redis is read from the server itself (INFO commandstats: how many blocking and
non-blocking pops it sent), and "returns soon after stop" is the referee's beat's verdict.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import threading
from collections.abc import Callable

import redis

from ..exercises import Exercise
from ..loop_thread import LoopThread
from ..redis_server import start_redis
from . import UNIT
from .referee import EventLog, units

__all__ = ["UNIT", "check_blocking_master", "check_poison_pill"]

KEY = "queue"  # the post's list: the answers use it by name


def _work(log: EventLog):
    """The ``work`` coroutine function handed to a master: logs each job it starts."""

    async def work(x: int) -> int:
        log.record("job", x)
        await asyncio.sleep(x * UNIT)
        return x

    return work


_BLOCKING_POPS = ("brpop", "blpop", "brpoplpush", "blmove", "blmpop")
_POPS = ("rpop", "lpop", "rpoplpush", "lmove", "lmpop")


def _pops(rcon: redis.Redis) -> dict[str, int]:
    """How many of each pop the server has run so far (INFO commandstats)."""
    stats = rcon.info("commandstats")
    return {name: stats.get(f"cmdstat_{name}", {}).get("calls", 0)
            for name in _BLOCKING_POPS + _POPS}


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
        if thread_result.done():
            # It has handed over its outcome: only the end of body() is left to run.  Join it
            # here, so that no executor thread of the kernel's loop is started for it.
            thread.join(1)
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
    """Exercise 13.1: a master that waits in Redis (BRPOP) instead of sleeping between RPOPs."""
    ex = Exercise("13.1", "a master that blocks in Redis instead of polling")
    server = start_redis()
    rcon = redis.Redis.from_url(server.url)
    work = _work(ex.ref.log)
    try:
        rcon.delete(KEY)
        async with ex.attempt():
            with LoopThread(name="workers") as lt:
                stop = threading.Event()
                stopped: list[float] = []

                async def producer() -> None:
                    for gap, x in ((1.3, 1), (1.3, 2), (0.5, 1)):
                        await asyncio.sleep(gap * UNIT)
                        await asyncio.to_thread(rcon.lpush, KEY, x)
                    await asyncio.sleep(UNIT)
                    stopped.append(ex.ref.now())
                    stop.set()

                before = _pops(rcon)
                feeding = asyncio.create_task(producer())
                try:
                    returned = await _run_master(ex, master_blocking,
                                                 rcon, (rcon, lt.loop, stop, work),
                                                 timeout=20 * UNIT)
                finally:
                    feeding.cancel()
                    stop.set()
                    await asyncio.gather(feeding, return_exceptions=True)
                returned_at = ex.ref.now()
                after = _pops(rcon)
                futures = _futures(ex, returned)
                results = [f.result(timeout=3 * UNIT * 4) for f in futures]
                ex.expect(results == [1, 2, 1], "hands over the jobs 1, 2, 1 in the order pushed",
                          got=results, hint="LPUSH adds on the left: take from the right "
                                            "(BRPOP), or push order is reversed", stop=True)
                # What the master asked Redis for (the check itself only pushes): a blocking pop
                # waits inside the server and answers as soon as an item arrives; a poll with
                # RPOP between sleeps starts each job up to a whole sleep late.
                sent = {name: after[name] - before[name] for name in after}
                blocking = sum(sent[n] for n in _BLOCKING_POPS)
                polls = {n: sent[n] for n in _POPS if sent[n]}
                ex.expect(blocking > 0 and not polls, "waits inside Redis with a blocking pop "
                          "(BRPOP), no RPOP between sleeps",
                          got=f"sent {polls or 'no pop'}"
                          + (f" and {blocking} blocking pops" if blocking else ""),
                          hint="BRPOP waits inside Redis and answers as soon as an item "
                               "arrives; time.sleep between RPOPs adds up to a whole sleep")
                ex.expect(bool(stopped) and not ex.ref.since(stopped[0], returned_at, 4),
                          f"returns within {4 * UNIT:.1f} s after `stop` is set",
                          got=f"{units(returned_at - stopped[0])} after it" if stopped
                          else "before `stop` was set",
                          hint="give BRPOP a short timeout (e.g. timeout=UNIT) so the loop "
                               "gets to look at `stop`")
    finally:
        with contextlib.suppress(redis.RedisError):
            rcon.delete(KEY)
        rcon.close()
    return ex.report()


SOCKET_TIMEOUT = 10  # units: how long the check's client waits for an answer (redis-py: 5 s)
QUIET = 15  # units: how long the queue stays empty before STOP comes


async def check_poison_pill(master_until_stop) -> bool:
    """Exercise 13.2: a master that stops when it takes the item STOP from the queue.

    The queue holds 1 and 2, stays empty for longer than the client's socket timeout, then
    gets STOP and 3 (one LPUSH).  A master that waits in one endless BRPOP (``timeout=0``)
    meets what it would meet on a quiet night with redis-py's default 5 s: the client stops
    waiting for the answer and raises TimeoutError.
    """
    ex = Exercise("13.2", "a master that stops at a STOP item")
    server = start_redis()
    rcon = redis.Redis.from_url(server.url, socket_timeout=SOCKET_TIMEOUT * UNIT)
    work = _work(ex.ref.log)
    try:
        rcon.delete(KEY)
        rcon.lpush(KEY, 1, 2)
        async with ex.attempt():
            with LoopThread(name="workers") as lt:
                pushed: list[float] = []

                async def producer() -> None:
                    await asyncio.sleep(QUIET * UNIT)
                    pushed.append(ex.ref.now())  # before: the master may be done before we resume
                    await asyncio.to_thread(rcon.lpush, KEY, "STOP", 3)

                feeding = asyncio.create_task(producer())
                try:
                    returned = await _run_master(ex, master_until_stop, rcon,
                                                 (rcon, lt.loop, work),
                                                 timeout=(QUIET + 25) * UNIT)
                except redis.TimeoutError as exc:
                    ex.expect(False, "waits for the next item as long as it takes",
                              got=f"redis.exceptions.TimeoutError: {exc} (the queue was empty "
                                  f"for {QUIET * UNIT:g} s)",
                              hint=f"BRPOP with timeout=0 waits in Redis for ever, but the "
                                   f"client stops listening after its socket_timeout (5 s in "
                                   f"redis-py, {SOCKET_TIMEOUT * UNIT:g} s here): give BRPOP a "
                                   "short timeout and ask again when it returns None",
                              stop=True)
                finally:
                    feeding.cancel()
                    await asyncio.gather(feeding, return_exceptions=True)
                ended = ex.ref.now()
                futures = _futures(ex, returned)
                results = [f.result(timeout=1) for f in futures]
            left = [x.decode() for x in rcon.lrange(KEY, 0, -1)]
            ex.expect(results == [1, 2], "hands over 1 and 2, the items before STOP",
                      got=results, hint="compare the item with b'STOP' before int(item)")
            ex.expect(left == ["3"], "leaves the item after STOP in the queue for later",
                      got=left, hint="return as soon as you take STOP")
            ex.expect(bool(pushed) and not ex.ref.since(pushed[0], ended, 1),
                      "returns at once when it takes STOP",
                      got=units(ended - pushed[0]) + " after STOP was pushed" if pushed
                      else "before STOP was pushed")
    finally:
        with contextlib.suppress(redis.RedisError):
            rcon.delete(KEY)
        rcon.close()
    return ex.report()
