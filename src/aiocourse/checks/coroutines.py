"""Checks for notebook 02 (coroutines, the event loop and ``await``).

    from aiocourse.checks.coroutines import check_make_tea, check_take_turns
    await check_make_tea(make_tea)        # Exercise 2.1
    await check_take_turns(worker)        # Exercise 2.2

Each check runs the learner's coroutine function with helpers of its own, prints what is right
and what is not, and returns True or False.  Times are measured in units of ``UNIT`` seconds, the
course's unit of sleeping.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Coroutine
from typing import Any

from ..exercises import Exercise
from . import UNIT

__all__ = ["UNIT", "check_make_tea", "check_take_turns"]


TEA_STEPS = [("boil", 2), ("steep", 1), ("pour", 1)]


async def check_make_tea(make_tea: Callable[..., Coroutine[Any, Any, list]]) -> bool:
    """Exercise 2.1: ``make_tea(step)`` awaits three steps one after the other.

    ``step(name, units)`` sleeps ``units`` and returns ``"<name> done"``.  The answer must await
    each step (a forgotten ``await`` leaves a coroutine that never runs), in order, and return
    the three results in a list.
    """
    ex = Exercise("2.1", "three steps, one after the other")
    t0 = time.perf_counter()
    times: dict[str, list[float | None]] = {}
    made: list[tuple[str, Coroutine]] = []  # every coroutine step() returned

    async def _step(name: str, units: int) -> str:
        times[name] = [(time.perf_counter() - t0) / UNIT, None]
        await asyncio.sleep(units * UNIT)
        times[name][1] = (time.perf_counter() - t0) / UNIT
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
            order = [name for name, _ in TEA_STEPS if name in times]
            in_order = order == [n for n, _ in TEA_STEPS] and all(
                times[b][0] >= times[a][1] - 0.2  # type: ignore[operator]
                for a, b in zip(order, order[1:], strict=False) if times[a][1] is not None)
            if not never:  # the order of steps that never ran says nothing more
                ex.expect(in_order, "boil, then steep, then pour: each starts after the "
                          "previous one has finished", got=_describe_steps(times),
                          hint="`await` each step before calling the next; no tasks, no gather")
    finally:
        for _, coro in made:
            coro.close()  # a step never awaited: close it so Python does not warn later
    return ex.report()


def _describe_steps(times: dict[str, list[float | None]]) -> str:
    parts = []
    for name, (start, end) in times.items():
        end_text = "unfinished" if end is None else f"{end:.0f}"
        parts.append(f"{name} {start:.0f}-{end_text}")
    return ", ".join(parts) + " (units)" if parts else "no step ran"


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
        await ex.run(asyncio.gather(*tasks), timeout=2)
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
        ex.expect(tl.duration < 1 * UNIT, "takes no real time (sleep(0) does not wait)",
                  got=f"{tl.duration / UNIT:.1f} units",
                  hint="asyncio.sleep(0) gives the loop a turn without waiting; a longer "
                       "sleep only makes the program slower")
    return ex.report()
