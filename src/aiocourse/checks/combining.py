"""Checks for notebooks 04 (wait and gather) and 05 (as_completed and TaskGroup).

    from aiocourse.checks.combining import check_fetch_in_order
    await check_fetch_in_order(fetch_in_order)   # prints feedback, returns True or False

Every answer is called with a ``fetch`` coroutine function made by the check: ``await
fetch(name)`` sleeps for that page's delay (whole units of ``UNIT`` seconds), then returns
``"page <name>"`` or raises the page's error.  Because the check wrote ``fetch``, it knows when
each call started, finished, failed or was cancelled, and compares that with what the answer
claims, without trusting its return value alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from ..exercises import Exercise
from . import SLACK, UNIT

__all__ = [
    "UNIT",
    "Pages",
    "check_fetch_in_order",
    "check_stop_at_first_failure",
    "check_first_answer",
    "check_handle_as_ready",
    "check_all_or_report",
]


@dataclass
class Pages:
    """A fake web site: ``await pages.fetch(name)`` sleeps ``delays[name]`` units, then answers.

        pages = Pages({"a": 1, "b": 2}, errors={"b": KeyError("b")})
        await pages.fetch("a")        # 'page a' after 1 unit
        pages.finished                # {'a': 1.0}: when each call ended, in units

    A name listed in ``errors`` raises that exception instead of returning.  A name that is not
    in ``delays`` raises ``KeyError`` at once, as a missing page would.
    """

    delays: dict[str, int]
    errors: dict[str, BaseException] = field(default_factory=dict)
    started: dict[str, float] = field(default_factory=dict)
    finished: dict[str, float] = field(default_factory=dict)
    failed: dict[str, float] = field(default_factory=dict)
    cancelled: dict[str, float] = field(default_factory=dict)
    _t0: float = field(default_factory=perf_counter)

    def now(self) -> float:
        """Units since this site was created."""
        return (perf_counter() - self._t0) / UNIT

    async def fetch(self, name: str) -> str:
        if name not in self.delays:
            raise KeyError(name)
        self.started[name] = self.now()
        try:
            await asyncio.sleep(self.delays[name] * UNIT)
        except asyncio.CancelledError:
            self.cancelled[name] = self.now()
            raise
        error = self.errors.get(name)
        if error is not None:
            self.failed[name] = self.now()
            raise error
        self.finished[name] = self.now()
        return f"page {name}"

    def running(self) -> list[str]:
        """Names whose fetch started and has not ended (in any way) yet, sorted."""
        ended = self.finished.keys() | self.failed.keys() | self.cancelled.keys()
        return sorted(self.started.keys() - ended)


def _rounded(times: dict[str, float]) -> dict[str, float]:
    return {name: round(t, 1) for name, t in sorted(times.items())}


def _units(t: float) -> str:
    return f"{t:.1f} units"


def _all_started_at_once(ex: Exercise, pages: Pages, hint: str) -> bool:
    late = {n: round(t, 1) for n, t in pages.started.items() if t > 0.5}
    return ex.expect(len(pages.started) == len(pages.delays) and not late,
                     "every fetch starts at once (at 0 units)",
                     got=f"started at {_rounded(pages.started)} (units)"
                     if pages.started else "no fetch started", hint=hint)


def _left_nothing_running(ex: Exercise, pages: Pages, what: str) -> bool:
    left = pages.running()
    return ex.expect(not left, what, got=f"still running when your function returned: {left}",
                     hint="cancel() only asks a task to stop; await the cancelled tasks "
                          "(e.g. `await asyncio.wait(pending)`) before you return")


async def _timed(ex: Exercise, coro: Any, timeout: float = 2.0) -> tuple[Any, float]:
    t0 = perf_counter()
    result = await ex.run(coro, timeout=timeout)
    return result, (perf_counter() - t0) / UNIT


# --- notebook 04 ---------------------------------------------------------------------------


async def check_fetch_in_order(answer: Callable[..., Any]) -> bool:
    """Exercise 4.1: ``await answer(fetch, names)`` returns the results in the order of ``names``,
    with the exception of a failed fetch in its place, and takes as long as the slowest fetch."""
    ex = Exercise("4.1", "all results in order, failures in place")
    broken = ValueError("page c is broken")
    pages = Pages({"a": 3, "b": 1, "c": 2, "d": 4}, errors={"c": broken})
    names = ["a", "b", "c", "d"]
    async with ex.attempt():
        result, took = await _timed(ex, answer(pages.fetch, names))
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
        _all_started_at_once(ex, pages, "create every task (or pass every coroutine to "
                                        "gather) before awaiting any of them")
        ex.expect(took < 4 + SLACK, "takes about 4 units (the slowest page), not 10",
                  got=_units(took))
    return ex.report()


async def check_stop_at_first_failure(answer: Callable[..., Any]) -> bool:
    """Exercise 4.2: ``await answer(fetch, names)`` returns ``(results, failed)``: a dict of the
    pages fetched before the first failure and the name that failed first (or None); the fetches
    still running are cancelled and have stopped when it returns."""
    ex = Exercise("4.2", "fetch five pages, stop at the first failure")
    names = ["a", "b", "c", "d", "e"]
    bad = Pages({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5},
                errors={"c": ConnectionError("c: connection reset")})
    good = Pages({"a": 2, "b": 1, "c": 3, "d": 1, "e": 2})
    async with ex.attempt():
        result, took = await _timed(ex, answer(bad.fetch, names))
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
        _all_started_at_once(ex, bad, "create all five tasks first, then wait for them")
        ex.expect(took < 3 + SLACK, "returns at the failure (about 3 units), not after the "
                                    "slowest page (5 units)", got=_units(took),
                  hint="asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)")
        _left_nothing_running(ex, bad, "pages d and e are cancelled and have stopped "
                                       "when your function returns")
        result, took = await _timed(ex, answer(good.fetch, names))
        ex.expect(result == ({n: f"page {n}" for n in names}, None),
                  "when nothing fails: every page, and failed is None", got=result)
        ex.expect(took < 3 + SLACK, "when nothing fails it takes about 3 units (the slowest)",
                  got=_units(took))
    return ex.report()


async def check_first_answer(answer: Callable[..., Any]) -> bool:
    """Exercise 4.3: ``await answer(fetch, mirrors)`` returns the first page any mirror returns,
    as soon as it arrives, and stops the other mirrors before returning."""
    ex = Exercise("4.3", "ask three mirrors, keep the fastest answer")
    pages = Pages({"slow": 4, "fast": 1, "medium": 2})
    async with ex.attempt():
        result, took = await _timed(ex, answer(pages.fetch, ["slow", "fast", "medium"]))
        ex.expect(result == "page fast", "returns the fastest mirror's page: 'page fast'",
                  got=result, hint="asyncio.wait(..., return_when=FIRST_COMPLETED), then "
                                   "the result of the task in `done`")
        _all_started_at_once(ex, pages, "ask every mirror at once")
        ex.expect(took < 1 + SLACK, "returns after about 1 unit", got=_units(took))
        _left_nothing_running(ex, pages, "the slower mirrors are cancelled and have stopped "
                                         "when your function returns")
    return ex.report()


# --- notebook 05 ---------------------------------------------------------------------------


async def check_handle_as_ready(answer: Callable[..., Any]) -> bool:
    """Exercise 5.1: ``await answer(fetch, names, handle)`` calls ``handle(page)`` for each page
    as soon as that page has arrived and returns the pages in the order they arrived."""
    ex = Exercise("5.1", "handle each page as soon as it arrives")
    pages = Pages({"a": 4, "b": 1, "c": 2})
    handled: list[tuple[Any, float]] = []

    def handle(page: Any) -> None:
        handled.append((page, pages.now()))

    async with ex.attempt():
        result, took = await _timed(ex, answer(pages.fetch, ["a", "b", "c"], handle))
        ex.expect(result == ["page b", "page c", "page a"],
                  "returns the pages in the order they arrived: ['page b', 'page c', 'page a']",
                  got=result, hint="asyncio.as_completed yields in completion order")
        arrived = {f"page {n}": t for n, t in pages.finished.items()}
        ex.expect(sorted(map(repr, (p for p, _ in handled))) == sorted(map(repr, arrived))
                  and len(handled) == 3, "handle(page) is called once for each page",
                  got=[p for p, _ in handled] or "handle() was never called", stop=True)
        late = {p: round(t - arrived[p], 1) for p, t in handled if t - arrived[p] > 0.5}
        ex.expect(not late, "each page is handled as soon as it arrives (b at 1, c at 2, a at 4)",
                  got=f"handled this many units after arriving: {late}",
                  hint="await each result of asyncio.as_completed and handle it in the loop, "
                       "instead of waiting for all of them first")
        ex.expect(took < 4 + SLACK, "takes about 4 units in all", got=_units(took))
    return ex.report()


async def check_all_or_report(answer: Callable[..., Any]) -> bool:
    """Exercise 5.2: ``await answer(fetch, names)`` fetches every page in a TaskGroup: the list of
    pages in order, or ``"missing: <names>"`` when fetches raised KeyError; other errors
    propagate."""
    ex = Exercise("5.2", "all pages or a report of the missing ones, with a TaskGroup")
    names = ["a", "b", "c"]
    fine = Pages({"a": 1, "b": 2, "c": 4})
    missing = Pages({"a": 1, "b": 2, "c": 4}, errors={"b": KeyError("b")})
    crash = Pages({"a": 1, "b": 2, "c": 4}, errors={"a": ValueError("a is corrupt")})
    async with ex.attempt():
        result, took = await _timed(ex, answer(fine.fetch, names))
        ex.expect(result == ["page a", "page b", "page c"],
                  "when every page exists: ['page a', 'page b', 'page c']", got=result,
                  hint="keep the tasks tg.create_task returns and read .result() after the "
                       "`async with` block")
        ex.expect(took < 4 + SLACK, "all pages in about 4 units", got=_units(took))

        result, took = await _timed(ex, answer(missing.fetch, names))
        ex.expect(result == "missing: b", "when page b is missing: 'missing: b'", got=result,
                  hint="`except* KeyError as group:` the KeyErrors are in group.exceptions; "
                       "the name is e.args[0]")
        ex.expect(took < 2 + SLACK, "returns at the failure (about 2 units)", got=_units(took))
        ex.expect("c" in missing.cancelled and not missing.running(),
                  "page c is cancelled when b fails (a TaskGroup does that for you)",
                  got=f"page c {'still running' if 'c' in missing.running() else 'finished'}",
                  hint="start the fetches with tg.create_task inside `async with "
                       "asyncio.TaskGroup() as tg:`; gather would leave c running")

        try:
            result = await ex.run(answer(crash.fetch, names), timeout=2)
        except* ValueError:
            result = "raised"
        ex.expect(result == "raised",
                  "any other error (here a ValueError) propagates out of your function",
                  got=f"returned {result!r}",
                  hint="catch only KeyError (`except* KeyError`): the rest of the group is "
                       "re-raised by itself")
    return ex.report()
