"""Checks for notebook 02 (coroutines, the event loop and ``await``).

    from aiocourse.checks.coroutines_and_the_event_loop import check_make_tea, check_take_turns
    await check_make_tea(make_tea)        # Exercise 2.1
    await check_take_turns(worker)        # Exercise 2.2

Each check runs the learner's coroutine function with helpers of its own that log what they did
(the referee's EventLog), prints what is right and what is not, and returns True or False.
Order is read from the log; "takes no real time" is the referee's beat's verdict.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from ..exercises import Exercise
from . import UNIT
from .referee import units

__all__ = ["UNIT", "check_make_tea", "check_take_turns"]


TEA_STEPS = [("boil", 2), ("steep", 1), ("pour", 1)]


async def check_make_tea(make_tea: Callable[..., Coroutine[Any, Any, list]]) -> bool:
    """Exercise 2.1: ``make_tea(step)`` awaits three steps one after the other.

    ``step(name, units)`` sleeps ``units`` and returns ``"<name> done"``.  The answer must await
    each step (a forgotten ``await`` leaves a coroutine that never runs), in order, and return
    the three results in a list.
    """
    ex = Exercise("2.1", "three steps, one after the other")
    log = ex.ref.log
    made: list[tuple[str, Coroutine]] = []  # every coroutine step() returned

    async def _step(name: str, units: int) -> str:
        log.record("start", name)
        await asyncio.sleep(units * UNIT)
        log.record("end", name)
        return f"{name} done"

    def step(name: str, units: int) -> Coroutine[Any, Any, str]:
        # A plain function returning the coroutine, so that the check sees each one and can
        # tell a learner which call was never awaited.
        coro = _step(name, units)
        made.append((f"step({name!r}, {units})", coro))
        return coro

    try:
        async with ex.attempt():
            result = await ex.run(make_tea(step), timeout=2)
            never = [label for label, coro in made
                     if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED]
            ex.expect(not never, "every step(...) is awaited",
                      got=f"never awaited: {', '.join(never)}" if never else None,
                      hint="calling an async function only creates a coroutine; write "
                           "`await step(...)` to run it")
            wanted = [f"{name} done" for name, _ in TEA_STEPS]
            if any(inspect.iscoroutine(r) for r in (result if isinstance(result, list) else [])):
                shown = "a list with coroutine objects in it"
            else:
                shown = result
            ex.expect(result == wanted, f"returns {wanted}", got=shown,
                      hint="collect the value of each `await step(...)` in a list")
            # In order, one after the other: the log reads start, end, start, end, ...
            events = [(e.what, e.key) for e in log.of("start", "end")]
            in_order = events == [(what, name) for name, _ in TEA_STEPS
                                  for what in ("start", "end")]
            if not never:  # the order of steps that never ran says nothing more
                ex.expect(in_order, "boil, then steep, then pour: each starts after the "
                          "previous one has finished", got=_describe_steps(events),
                          hint="`await` each step before calling the next; no tasks, no gather")
    finally:
        for _, coro in made:
            coro.close()  # a step never awaited: close it so Python does not warn later
    return ex.report()


def _describe_steps(events: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name} {what}s" for what, name in events) or "no step ran"


async def check_take_turns(worker: Callable[..., Coroutine[Any, Any, None]]) -> bool:
    """Exercise 2.2: two ``worker(name, n, log)`` tasks take turns, step by step.

    The check starts ``worker("a", 3, log)`` and ``worker("b", 3, log)`` as tasks.  Each must
    append ``f"{name}:{i}"`` for i in 0..n-1 and give the loop a turn after each step, so the
    log reads a:0, b:0, a:1, b:1, a:2, b:2, without waiting any real time.
    """
    ex = Exercise("2.2", "take turns with await asyncio.sleep(0)")
    log: list[str] = []
    async with ex.attempt():
        coros = [worker("a", 3, log), worker("b", 3, log)]
        if not all(inspect.iscoroutine(c) for c in coros):
            for c in coros:
                if inspect.iscoroutine(c):
                    c.close()
            ex.expect(False, "worker is an async function (defined with `async def`)",
                      got=type(coros[0]).__name__, stop=True)
        tasks = [asyncio.create_task(coros[0], name="worker a"),
                 asyncio.create_task(coros[1], name="worker b")]
        _, run = await ex.timed(asyncio.gather(*tasks), timeout=2)
        wanted = ["a:0", "b:0", "a:1", "b:1", "a:2", "b:2"]
        hint = None
        if sorted(log) == sorted(wanted):
            hint = ("each worker keeps the thread until it is finished: after each step, "
                    "`await asyncio.sleep(0)` lets the loop run the other one")
        ex.expect(log == wanted, f"the log reads {', '.join(wanted)}", got=log,
                  hint=hint or 'append f"{name}:{i}" for i in range(n)')
    tl = ex.timeline
    if tl is not None and ex.passed:
        slices = min(len(tl["worker a"].slices), len(tl["worker b"].slices))
        ex.expect(slices >= 3, "each worker runs in one slice per step",
                  got=f"{slices} slices")
        ex.expect(not ex.slow(run, 0), "takes no real time (sleep(0) does not wait)",
                  got=units(run.took),
                  hint="asyncio.sleep(0) gives the loop a turn without waiting; a longer "
                       "sleep only makes the program slower")
    return ex.report()
