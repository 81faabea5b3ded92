"""Checks for notebook 04 (wait and gather).

    from aiocourse.checks.wait_and_gather import check_fetch_in_order
    await check_fetch_in_order(fetch_in_order)   # prints feedback, returns True or False

Every answer is called with a ``fetch`` coroutine function made by the check (the referee's
``sleeper``): ``await fetch(name)`` sleeps for that page's delay (whole units), then returns
``"page <name>"`` or raises the page's error, and logs when each call started, ended, failed or
was cancelled.  The check compares that log with what the answer claims, without trusting its
return value alone; "about N units" is judged by the referee's beat, never by the clock alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..exercises import Exercise
from .referee import EventLog, units

__all__ = ["check_fetch_in_order", "check_stop_at_first_failure", "check_first_answer"]


def all_started_at_once(ex: Exercise, log: EventLog, names: list[str], hint: str) -> bool:
    started = log.keys("start")
    return ex.expect(log.started_together(names), "every fetch starts at once (all of them "
                     "before the first one ends)",
                     got=f"started in this order, some after others had ended: {started}"
                     if started else "no fetch started", hint=hint)


def left_nothing_running(ex: Exercise, log: EventLog, what: str) -> bool:
    left = log.running()
    return ex.expect(not left, what, got=f"still running when your function returned: {left}",
                     hint="cancel() only asks a task to stop; await the cancelled tasks "
                          "(e.g. `await asyncio.wait(pending)`) before you return")


async def check_fetch_in_order(answer: Callable[..., Any]) -> bool:
    """Exercise 4.1: ``await answer(fetch, names)`` returns the results in the order of ``names``,
    with the exception of a failed fetch in its place, and takes as long as the slowest fetch."""
    ex = Exercise("4.1", "all results in order, failures in place")
    broken = ValueError("page c is broken")
    fetch = ex.ref.sleeper({"a": 3, "b": 1, "c": 2, "d": 4}, errors={"c": broken})
    names = ["a", "b", "c", "d"]
    async with ex.attempt():
        result, run = await ex.timed(answer(fetch, names), timeout=2)
        ex.expect(isinstance(result, list), "returns a list", got=type(result).__name__,
                  stop=True)
        shown = [r if isinstance(r, str) else f"{type(r).__name__}({r})" for r in result]
        ex.expect(result[:2] + result[3:] == ["page a", "page b", "page d"]
                  and len(result) == 4,
                  "the pages in the order of `names`: ['page a', 'page b', <error>, 'page d']",
                  got=shown, hint="asyncio.gather returns results in the order of its "
                                  "arguments, whatever the order in which they finish")
        ex.expect(len(result) == 4 and result[2] is broken,
                  "the ValueError of page c in its place (the exception object, not raised)",
                  got=shown, hint="asyncio.gather(..., return_exceptions=True)")
        all_started_at_once(ex, fetch.log, names, "create every task (or pass every coroutine to "
                                       "gather) before awaiting any of them")
        ex.expect(not ex.slow(run, 4), "takes about 4 units (the slowest page), not 10",
                  got=units(run.took))
    return ex.report()


async def check_stop_at_first_failure(answer: Callable[..., Any]) -> bool:
    """Exercise 4.2: ``await answer(fetch, names)`` returns ``(results, failed)``: a dict of the
    pages fetched before the first failure and the name that failed first (or None); the fetches
    still running are cancelled and have stopped when it returns."""
    ex = Exercise("4.2", "fetch five pages, stop at the first failure")
    names = ["a", "b", "c", "d", "e"]
    bad = ex.ref.sleeper({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5},
                         errors={"c": ConnectionError("c: connection reset")})
    async with ex.attempt():
        result, run = await ex.timed(answer(bad, names), timeout=2)
        ex.expect(isinstance(result, tuple) and len(result) == 2,
                  "returns a pair (results, failed)", got=result, stop=True)
        results, failed = result
        ex.expect(results == {"a": "page a", "b": "page b"},
                  "results holds the pages that finished before the failure: "
                  "{'a': 'page a', 'b': 'page b'}", got=results,
                  hint="after asyncio.wait(..., return_when=FIRST_EXCEPTION), read the results "
                       "of the tasks in `done` that did not raise")
        ex.expect(failed == "c", "failed is the name of the page that failed first: 'c'",
                  got=failed, hint="keep a dict {task: name}, or name the tasks")
        all_started_at_once(ex, bad.log, names, "create all five tasks first, then wait for them")
        log = bad.log
        finished_later = [k for k in ("d", "e") if log.first("end", key=k) is not None]
        ex.expect(not finished_later and not ex.slow(run, 3),
                  "returns at the failure (about 3 units), not after the slowest page (5 units)",
                  got=f"pages {finished_later} finished first" if finished_later
                  else units(run.took), hint="asyncio.wait(tasks, return_when="
                                              "asyncio.FIRST_EXCEPTION)")
        left_nothing_running(ex, bad.log, "pages d and e are cancelled and have stopped when your "
                                 "function returns")
        good = ex.ref.sleeper({"a": 2, "b": 1, "c": 3, "d": 1, "e": 2})
        result, run = await ex.timed(answer(good, names), timeout=2)
        ex.expect(result == ({n: f"page {n}" for n in names}, None),
                  "when nothing fails: every page, and failed is None", got=result)
        ex.expect(not ex.slow(run, 3), "when nothing fails it takes about 3 units (the slowest)",
                  got=units(run.took))
    return ex.report()


async def check_first_answer(answer: Callable[..., Any]) -> bool:
    """Exercise 4.3: ``await answer(fetch, mirrors)`` returns the first page any mirror returns,
    as soon as it arrives, and stops the other mirrors before returning."""
    ex = Exercise("4.3", "ask three mirrors, keep the fastest answer")
    mirrors = ["slow", "fast", "medium"]
    fetch = ex.ref.sleeper({"slow": 4, "fast": 1, "medium": 2})
    async with ex.attempt():
        result, run = await ex.timed(answer(fetch, mirrors), timeout=2)
        ex.expect(result == "page fast", "returns the fastest mirror's page: 'page fast'",
                  got=result, hint="asyncio.wait(..., return_when=FIRST_COMPLETED), then "
                                   "the result of the task in `done`")
        all_started_at_once(ex, fetch.log, mirrors, "ask every mirror at once")
        medium = fetch.log.first("end", key="medium")
        ex.expect(medium is None and not ex.slow(run, 1), "returns after about 1 unit",
                  got="after the medium mirror had answered too" if medium is not None
                  else units(run.took))
        left_nothing_running(ex, fetch.log, "the slower mirrors are cancelled and have "
                                            "stopped when your function returns")
    return ex.report()
