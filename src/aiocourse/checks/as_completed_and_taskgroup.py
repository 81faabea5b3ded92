"""Checks for notebook 05 (as_completed and TaskGroup).

    from aiocourse.checks.as_completed_and_taskgroup import check_handle_as_ready
    await check_handle_as_ready(handle_as_ready)   # prints feedback, returns True or False

As in notebook 04's checks, each answer gets a ``fetch`` made by the check that logs what
happened (the referee's ``sleeper``); order and overlap are read from that log, "about N
units" from the referee's beat.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..exercises import Exercise
from .referee import units

__all__ = ["check_handle_as_ready", "check_all_or_report"]


async def check_handle_as_ready(answer: Callable[..., Any]) -> bool:
    """Exercise 5.1: ``await answer(fetch, names, handle)`` calls ``handle(page)`` for each page
    as soon as that page has arrived and returns the pages in the order they arrived."""
    ex = Exercise("5.1", "handle each page as soon as it arrives")
    fetch = ex.ref.sleeper({"a": 4, "b": 1, "c": 2})
    log = fetch.log

    def handle(page: Any) -> None:
        log.record("handled", page)

    async with ex.attempt():
        result, run = await ex.timed(answer(fetch, ["a", "b", "c"], handle), timeout=2)
        ex.expect(result == ["page b", "page c", "page a"],
                  "returns the pages in the order they arrived: ['page b', 'page c', 'page a']",
                  got=result, hint="asyncio.as_completed yields in completion order")
        handled = [e.key for e in log.of("handled")]
        ex.expect(sorted(map(repr, handled)) == ["'page a'", "'page b'", "'page c'"],
                  "handle(page) is called once for each page",
                  got=handled or "handle() was never called", stop=True)
        # As soon as it arrives: each page is handled before the next one arrives (b at 1, c at
        # 2, a at 4), an order a busy machine does not change (ready callbacks run before the
        # timers that fall due meanwhile).
        arrivals = log.of("end")
        waited = [f"page {a.key}" for a, b in zip(arrivals, arrivals[1:], strict=False)
                  if (log.first("handled", key=f"page {a.key}") or float("inf")) > b.t]
        ex.expect(not waited, "each page is handled as soon as it arrives (b at 1, c at 2, a at "
                              "4), before the next one arrives",
                  got=f"handled only after the next page had arrived: {waited}",
                  hint="await each result of asyncio.as_completed and handle it in the loop, "
                       "instead of waiting for all of them first")
        ex.expect(not ex.slow(run, 4), "takes about 4 units in all", got=units(run.took))
    return ex.report()


async def check_all_or_report(answer: Callable[..., Any]) -> bool:
    """Exercise 5.2: ``await answer(fetch, names)`` fetches every page in a TaskGroup: the list of
    pages in order, or ``"missing: <names>"`` when fetches raised KeyError; other errors
    propagate."""
    ex = Exercise("5.2", "all pages or a report of the missing ones, with a TaskGroup")
    names = ["a", "b", "c"]
    delays = {"a": 1, "b": 2, "c": 4}
    async with ex.attempt():
        fine = ex.ref.sleeper(delays)
        result, run = await ex.timed(answer(fine, names), timeout=2)
        ex.expect(result == ["page a", "page b", "page c"],
                  "when every page exists: ['page a', 'page b', 'page c']", got=result,
                  hint="keep the tasks tg.create_task returns and read .result() after the "
                       "`async with` block")
        ex.expect(not ex.slow(run, 4), "all pages in about 4 units", got=units(run.took))

        missing = ex.ref.sleeper(delays, errors={"b": KeyError("b")})
        result, run = await ex.timed(answer(missing, names), timeout=2)
        ex.expect(result == "missing: b", "when page b is missing: 'missing: b'", got=result,
                  hint="`except* KeyError as group:` the KeyErrors are in group.exceptions; "
                       "the name is e.args[0]")
        log = missing.log
        c_cancelled = log.first("cancelled", key="c") is not None
        c_ended = log.first("end", key="c") is not None
        ex.expect(not c_ended and not ex.slow(run, 2), "returns at the failure (about 2 units)",
                  got="after page c had finished" if c_ended else units(run.took))
        ex.expect(c_cancelled and not log.running(),
                  "page c is cancelled when b fails (a TaskGroup does that for you)",
                  got=f"page c {'still running' if 'c' in log.running() else 'finished'}",
                  hint="start the fetches with tg.create_task inside `async with "
                       "asyncio.TaskGroup() as tg:`; gather would leave c running")

        crash = ex.ref.sleeper(delays, errors={"a": ValueError("a is corrupt")})
        try:
            result = await ex.run(answer(crash, names), timeout=2)
        except* ValueError:
            result = "raised"
        ex.expect(result == "raised",
                  "any other error (here a ValueError) propagates out of your function",
                  got=f"returned {result!r}",
                  hint="catch only KeyError (`except* KeyError`): the rest of the group is "
                       "re-raised by itself")
    return ex.report()
