"""Checks for notebook 03 (tasks and futures).

    from aiocourse.checks.tasks_and_futures import check_fetch_all, check_wait_for_callback
    from aiocourse.checks.tasks_and_futures import check_fire
    await check_fetch_all(fetch_all)                  # Exercise 3.1
    await check_wait_for_callback(wait_for_callback)  # Exercise 3.2
    await check_fire(fire)                            # Exercise 3.3

Each check runs the learner's answer with helpers of its own, under a Timeline, prints what is
right and what is not, and returns True or False.  What overlapped is read from the Timeline;
"about as long as" and "as soon as" are the referee's beat's verdicts.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import random
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

from ..exercises import Exercise
from . import UNIT
from .referee import units

__all__ = ["UNIT", "fetch", "check_fetch_all", "check_wait_for_callback", "check_fire"]


FETCH_JOBS = [("slow", 4), ("fast", 1), ("medium", 2)]  # finishing order differs from this order


async def fetch(name: str, units: int) -> str:
    """The job of Exercise 3.1: waits ``units`` and returns ``"<name> after <units>"``."""
    await asyncio.sleep(units * UNIT)
    return f"{name} after {units}"


async def check_fetch_all(fetch_all: Callable[..., Coroutine[Any, Any, list]]) -> bool:
    """Exercise 3.1: ``fetch_all(fetch, jobs)`` runs the jobs concurrently, results in order.

    The jobs wait 4, 1 and 2 units: one after the other they take 7 units, at the same time 4.
    The answer must return the results in the order of ``jobs``, not in the order they finish.
    """
    ex = Exercise("3.1", "three jobs at the same time, results in order")
    async with ex.attempt():
        result, run = await ex.timed(fetch_all(fetch, list(FETCH_JOBS)), timeout=2)
        wanted = [f"{name} after {units}" for name, units in FETCH_JOBS]
        hint = None
        if isinstance(result, list) and sorted(map(str, result)) == sorted(wanted):
            hint = "keep the tasks in a list in the order of `jobs` and await them in that order"
        ex.expect(result == wanted, f"returns {wanted}", got=result,
                  hint=hint or "create one task per job with asyncio.create_task, then await "
                               "each task and collect its result")
    tl = ex.timeline
    if tl is not None and ex.passed:
        slowest = max(units for _, units in FETCH_JOBS)
        total = sum(units for _, units in FETCH_JOBS)
        ex.expect(tl.max_concurrency() >= len(FETCH_JOBS),
                  f"the {len(FETCH_JOBS)} jobs run as tasks at the same time",
                  got=f"at most {tl.max_concurrency()} task(s) at once",
                  hint="awaiting a coroutine runs it to the end before the next line: create "
                       "all the tasks first, then await them")
        ex.expect(not ex.slow(run, slowest),
                  f"takes about as long as the slowest job ({slowest} units, not {total})",
                  got=units(run.took))
    return ex.report()


async def check_wait_for_callback(wait_for_callback: Callable[..., Coroutine]) -> bool:
    """Exercise 3.2: turn a callback API into an awaitable with a Future.

    ``subscribe(callback)`` arranges for ``callback(value)`` to be called once, after a delay
    of 2 to 3 units that the answer cannot know.  ``wait_for_callback(subscribe)`` must return
    that value as soon as it arrives, without waking up in between (no polling).
    """
    ex = Exercise("3.2", "await a value that a callback delivers")
    loop = asyncio.get_running_loop()
    delay = random.uniform(2.0, 3.0)  # unknown to the answer: a sleep cannot guess it
    value = f"signal-{random.randrange(10**6):06d}"
    calls: list[float] = []
    fired: list[float] = []
    woken_before: list[bool] = []  # was the answer already woken by something else?

    def subscribe(callback: Callable[[Any], Any]) -> None:
        if not callable(callback):
            raise TypeError(f"subscribe() needs a function to call, not {callback!r}")
        if calls:
            raise RuntimeError("subscribe() was called twice: call it once")
        calls.append(ex.ref.now())

        def deliver() -> None:
            fired.append(ex.ref.now())
            # A late loop (a busy machine) can run a guessed sleep's timer and this one in the
            # same pass, sleep first: the guess then finds the value by luck.  The task's
            # awaited future tells: done already means something other than the callback
            # woke it.  (_fut_waiter: what a task awaits; in both Task implementations.)
            waiter = getattr(answer, "_fut_waiter", None)
            woken_before.append(waiter is not None and waiter.done())
            callback(value)

        loop.call_later(delay * UNIT, deliver)

    async with ex.attempt():
        coro = wait_for_callback(subscribe)
        if not inspect.iscoroutine(coro):
            ex.expect(False, "wait_for_callback is an async function (defined with `async def`)",
                      got=type(coro).__name__, stop=True)
        answer = asyncio.create_task(coro, name="answer")
        result = await ex.run(answer, timeout=2)
        returned_at = ex.ref.now()
        ex.expect(bool(calls), "calls subscribe(callback) once", stop=True)
        ex.expect(result == value, "returns the value passed to the callback",
                  got=result, hint="pass fut.set_result as the callback, then `return await fut`")
    tl = ex.timeline
    if tl is not None and ex.passed:
        ex.expect(not (woken_before and woken_before[0]), "returns because the callback ran",
                  got="your task was already woken (by a sleep?) when the callback came",
                  hint="await a Future that the callback completes, not a sleep")
        # As soon as: no more than one beat of the check's own between the callback and the
        # return (a right answer returns within a pass of the loop or two).
        ex.expect(bool(fired) and not ex.ref.since(fired[0], returned_at, 0, allowance=0),
                  "returns as soon as the callback has run",
                  got=f"returned {units(returned_at - fired[0])} after the callback"
                  if fired else "before the callback ran",
                  hint="await a Future that the callback completes, not a sleep")
        slices = len(tl["answer"].slices)
        ex.expect(slices <= 3, "waits without waking up in between (no polling)",
                  got=f"your task woke up {slices} times",
                  hint="a loop of `await asyncio.sleep(...)` checks again and again; awaiting "
                       "a Future wakes the task once, when its result is set")
    return ex.report()


async def _hold(fut: asyncio.Future, results: list) -> None:
    # Waits on a future that only this coroutine holds strongly: the task is reachable only
    # through references the learner keeps (the loop holds tasks weakly).
    results.append(await fut)


async def check_fire(fire: Callable[..., asyncio.Task]) -> bool:
    """Exercise 3.3: ``fire(coro, running)`` starts a task and keeps it in ``running`` until done.

    The check fires three tasks that wait on futures nobody else holds, drops its own references,
    collects garbage (as Python may do at any moment), then completes the futures.  With a
    reference in ``running`` every task survives and finishes; a done callback must then remove
    it, so that ``running`` ends empty.
    """
    ex = Exercise("3.3", "keep fire-and-forget tasks alive")
    loop = asyncio.get_running_loop()
    running: set = set()
    results: list = []
    destroyed: list[str] = []
    old_handler = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        # "Task was destroyed but it is pending!" is what a lost task leaves: count it here
        # instead of printing a log line full of addresses.
        if context.get("message", "").startswith("Task was destroyed"):
            destroyed.append(context["message"])
        elif old_handler is not None:
            old_handler(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    try:
        async with ex.attempt():
            futures = []
            returned = []
            for _ in range(3):
                fut = loop.create_future()
                futures.append(weakref.ref(fut))
                coro = _hold(fut, results)
                is_task = False
                try:
                    task = ex.call(fire, coro, running)
                    returned.append(type(task).__name__)
                    is_task = isinstance(task, asyncio.Task)
                finally:
                    if not is_task:
                        coro.close()  # it will never run: no "never awaited" warning later
                    task = None
                del fut, coro, task  # the check keeps no strong reference
                if not is_task:
                    ex.expect(False, "fire() returns the task it started",
                              got=returned[-1] if returned else None, stop=True)
            ex.expect(True, "fire() returns the task it started")
            ex.expect(len(running) == 3, "the set holds the 3 tasks while they run",
                      got=f"{len(running)} in the set",
                      hint="running.add(task) right after creating it")
            await asyncio.sleep(0)  # let them start and suspend on their futures
            gc.collect()            # what the garbage collector may do at any moment
            lost = 0
            for i, ref in enumerate(futures):
                fut = ref()
                if fut is None:
                    lost += 1
                else:
                    fut.set_result(i)
                del fut
            ex.expect(lost == 0 and not destroyed,
                      "every task survives garbage collection until it is done",
                      got=f"{lost} of 3 tasks were destroyed while pending",
                      hint="the loop keeps only weak references to tasks: keep a strong one "
                           "in `running`", stop=True)
            for _ in range(20):  # a few loop turns: wake-up, then the done callbacks
                if len(results) == 3 and not running:
                    break
                await asyncio.sleep(0)
            ex.expect(sorted(results) == [0, 1, 2], "all 3 tasks finish", got=sorted(results))
            ex.expect(not running, "each task leaves the set when it is done",
                      got=f"{len(running)} finished task(s) still in the set",
                      hint="task.add_done_callback(running.discard)")
    finally:
        loop.set_exception_handler(old_handler)
    return ex.report()
