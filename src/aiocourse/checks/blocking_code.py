"""Checks for notebook 11 (blocking code).

    from aiocourse.checks.blocking_code import check_read_all
    await check_read_all(read_all)     # prints feedback, returns True or False

The blocking functions and jobs log which thread ran them and when (the referee's EventLog):
"no read in the loop's thread" is read from the log, "the loop keeps running" is the check's
own beat running while the reads run, and "at once" / "as soon as" are the beat's verdicts.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from time import sleep
from typing import Any

from ..exercises import Exercise
from ..loop_thread import LoopThread
from . import UNIT
from ._threads import LOOP_NAME, Jobs
from .referee import EventLog

__all__ = ["UNIT", "check_read_all", "check_make_on_done"]


def _seconds(units: float) -> str:
    # Notebook 11 counts in units of 0.1 s, these checks in 0.05 s: say seconds.
    return f"{units * UNIT:.2f} s"


async def check_read_all(answer: Callable[..., Any]) -> bool:
    """Exercise 11.1: ``await answer(read, keys)`` returns ``[read(k) for k in keys]``, where
    ``read`` is a blocking function, without freezing the event loop and all at once."""
    ex = Exercise("11.1", "stop a blocking call from freezing the loop")
    jobs = Jobs(ex.ref.log, read_units=3)
    async with ex.attempt():
        result, run = await ex.timed(answer(jobs.read, ["a", "b", "c"]), timeout=2)
        ex.expect(result == ["value a", "value b", "value c"],
                  "returns the values in the order of keys", got=result,
                  hint="asyncio.gather keeps the order of its arguments")
        main = [k for k, (thread, *_) in sorted(jobs.ran.items())
                if thread == threading.main_thread().name]
        ex.expect(not main, "no read runs in the loop's own thread (MainThread)",
                  got=f"ran in MainThread: {main}",
                  hint="await asyncio.to_thread(read, key) runs it in a worker thread")
        # The loop is free meanwhile: the check's own beat, a timer of the loop, keeps running
        # while the reads run (a read in the loop's thread stops every timer for 3 units).
        reads = [span for key, span in jobs.ran.items() if key.startswith("read ")]
        first = min((start for _, start, _, _ in reads), default=0.0) * UNIT
        last = max((end or 0.0 for _, _, end, _ in reads), default=0.0) * UNIT
        beats = sum(1 for b in ex.ref.beats if first < b < last)
        ex.expect(beats > 0, "the loop keeps running meanwhile: its timers run while the "
                  "reads run", got="no timer of the loop ran while the reads ran")
        ex.expect(not ex.slow(run, 3, allowance=1.5),
                  "reads all keys at the same time: about 0.15 s, not 3 x 0.15 s",
                  got=_seconds(run.took / UNIT),
                  hint="start every to_thread call first: asyncio.gather(*(...))")
    return ex.report()


async def check_make_on_done(answer: Callable[..., Any]) -> bool:
    """Exercise 11.2: ``answer(loop, future)`` returns a function ``on_done(value)`` that a
    worker thread calls; it must hand ``value`` to ``future`` (of ``loop``, which runs in
    another thread) thread-safely, so that the coroutine awaiting the future wakes at once."""
    ex = Exercise("11.2", "hand a result from a worker thread to the loop")
    errors: list[BaseException] = []
    async with ex.attempt():
        # Debug mode makes the loop check the thread of every call_soon: a wrong-thread call
        # raises at once instead of working by luck.  (Its slow-callback warnings are not the
        # point here, hence the long limit.)
        with LoopThread(name=LOOP_NAME, debug=True) as lt:
            lt.loop.slow_callback_duration = 10
            jobs = Jobs(ex.ref.log)
            future = await asyncio.wrap_future(lt.submit(_new_future()))
            waiter = lt.submit(_wait_for(future, jobs, 10), name="waiter")
            on_done = ex.call(answer, lt.loop, future)
            ex.expect(callable(on_done), "returns a function on_done(value)",
                      got=type(on_done).__name__, stop=True)
            library = threading.Thread(target=_call_later, name="library thread",
                                       args=(on_done, 42, 2, errors, jobs.log), daemon=True)
            library.start()
            value, woke = await asyncio.wrap_future(waiter)
            await asyncio.to_thread(library.join, 2)
        error = errors[0] if errors else None
        ex.expect(error is None, "calling on_done(42) in the library's thread raises nothing",
                  got=f"{type(error).__name__}: {error}" if error else None,
                  hint="from another thread only loop.call_soon_threadsafe(...) and "
                       "asyncio.run_coroutine_threadsafe(...) are safe: "
                       "loop.call_soon_threadsafe(future.set_result, value)")
        ex.expect(value == 42, "the coroutine awaiting the future gets 42", got=value)
        handed = jobs.log.first("handed over")
        ex.expect(value == 42 and handed is not None
                  and not ex.ref.since(handed, woke * UNIT, 0, allowance=1),
                  "it wakes as soon as the value is handed over (after 0.1 s), not at its "
                  "time limit (0.5 s)", got=_seconds(woke),
                  hint="call_soon_threadsafe also wakes the loop: a plain call does not")
    return ex.report()


async def _new_future() -> asyncio.Future:
    return asyncio.get_running_loop().create_future()


async def _wait_for(future: asyncio.Future, jobs: Jobs, units: int) -> tuple[Any, float]:
    # asyncio.wait with a timeout, not a plain await: a future completed from the wrong thread
    # may be marked done without ever waking its waiter, and this one must wake up anyway.
    done, _ = await asyncio.wait({future}, timeout=units * UNIT)
    value = future.result() if done and not future.cancelled() else None
    return value, jobs.now()


def _call_later(func: Callable[[Any], Any], value: Any, units: int,
                errors: list[BaseException], log: EventLog) -> None:
    sleep(units * UNIT)
    log.record("handed over")
    try:
        func(value)
    except Exception as exc:
        errors.append(exc)
