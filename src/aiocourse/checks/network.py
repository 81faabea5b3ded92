"""Checks for notebooks 12 (real network I/O) and 13 (how far one event loop goes).

    from aiocourse.checks.network import check_fetch_limited
    await check_fetch_limited(fetch_limited)   # prints feedback, returns True or False

The network checks start their own ``LocalServer`` on 127.0.0.1 and their own
``aiohttp.ClientSession``, call the answer with them, and then ask the server what it saw: how
many requests, how many at once, which ones were retried.  The scale checks hand the answer a
``work`` coroutine function they wrote, so they know how many ran at once, and count the timers
the event loop holds while the answer's tasks wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from time import perf_counter
from typing import Any

from ..exercises import Exercise
from ..http_server import LocalServer
from . import UNIT

__all__ = [
    "UNIT",
    "check_fetch_limited",
    "check_fetch_with_retry",
    "check_few_timers",
    "check_worker_pool",
]

SLACK = 1.5  # units an answer may take beyond the ideal (server round trips, a busy machine)


def _seconds(units: float) -> str:
    # Notebooks 12 and 13 count in units of 0.2 s, these checks in 0.05 s: say seconds.
    return f"{units * UNIT:.2f} s"


async def _timed(ex: Exercise, coro: Any, timeout: float = 5.0) -> tuple[Any, float]:
    t0 = perf_counter()
    result = await ex.run(coro, timeout=timeout)
    return result, (perf_counter() - t0) / UNIT


def _session():
    import aiohttp  # imported here: the scale checks do not need it

    return aiohttp.ClientSession()


# --- notebook 12 -------------------------------------------------------------------------------


async def check_fetch_limited(answer: Callable[..., Any]) -> bool:
    """Exercise 12.1: ``await answer(session, urls, limit)`` fetches every URL with at most
    ``limit`` requests in flight and returns the page texts in the order of ``urls``."""
    ex = Exercise("12.1", "fetch 30 pages with at most 5 in flight")
    async with LocalServer(delay=UNIT) as srv, _session() as session:
        urls = [srv.page_url(i) for i in range(30)]
        async with ex.attempt():
            pages, took = await _timed(ex, answer(session, urls, 5))
            ex.expect(pages == [f"page {i}" for i in range(30)],
                      "returns the 30 page texts in the order of `urls`",
                      got=pages if not isinstance(pages, list) or len(pages) <= 3
                      else f"a list of {len(pages)}, starting {pages[:3]}",
                      hint="gather keeps the order of its arguments; return await resp.text()",
                      stop=True)
            ex.expect(srv.requests == 30, "one request per URL", got=srv.requests)
            ex.expect(srv.max_in_flight <= 5, "never more than 5 requests in flight at the server",
                      got=f"the server saw {srv.max_in_flight} at once",
                      hint="`async with sem:` around the request, with sem = "
                           "asyncio.Semaphore(limit) created once, outside the tasks")
            ex.expect(srv.max_in_flight == 5, "uses all 5 slots (5 requests at once)",
                      got=f"at most {srv.max_in_flight} at once",
                      hint="start every fetch at once (gather or a TaskGroup) and let the "
                           "semaphore hold back the rest")
            # Six rounds of requests: a busy machine adds to each.  Half of the 30 units that
            # one page at a time would take is the limit.
            ex.expect(took < 15, "takes about 0.3 s (30 pages, 5 at a time, 0.05 s each)",
                      got=_seconds(took))
            srv.reset_stats()
            few = [srv.page_url(i) for i in range(4)]
            pages = await ex.run(answer(session, few, 2), timeout=2)
            ex.expect(pages == [f"page {i}" for i in range(4)] and srv.max_in_flight == 2,
                      "respects `limit`: 4 pages with limit=2 go 2 at a time",
                      got=f"{pages!r}, the server saw {srv.max_in_flight} at once")
    return ex.report()


async def check_fetch_with_retry(answer: Callable[..., Any]) -> bool:
    """Exercise 12.2: ``await answer(session, url, timeout)`` returns the page text; a try that
    takes longer than ``timeout`` seconds or gets a status of 500 or more is retried once; any
    other failure, or a second failed try, raises."""
    ex = Exercise("12.2", "a timeout and one retry")
    timeout = 2 * UNIT
    async with LocalServer() as srv, _session() as session:
        async with ex.attempt():
            page, _ = await _timed(ex, answer(session, srv.page_url("ok"), timeout))
            ex.expect(page == "page ok", "a page that works: its text, 'page ok'", got=page,
                      hint="return await resp.text()", stop=True)
            ex.expect(srv.requests == 1, "no retry when the first try works",
                      got=f"{srv.requests} requests")

            page, _ = await _timed(ex, answer(session, srv.url + "/flaky/a?fail=1", timeout))
            ex.expect(page == "page a" and srv.attempts("a") == 2,
                      "a 503 on the first try: one retry, then the page",
                      got=f"{page!r} after {srv.attempts('a')} tries",
                      hint="a status of 500 or more is a server error: call "
                           "resp.raise_for_status() (aiohttp does not raise by itself) and "
                           "retry on aiohttp.ClientResponseError with e.status >= 500")

            page, took = await _timed(ex, answer(session, srv.url + "/flaky/b?fail=1&slow=5",
                                                 timeout))
            ex.expect(page == "page b" and srv.attempts("b") == 2,
                      "a first try that hangs: given up after the timeout, then retried",
                      got=f"{page!r} after {srv.attempts('b')} tries",
                      hint="`async with asyncio.timeout(timeout):` around one try; catch "
                           "TimeoutError and try again")
            ex.expect(took < 2 + 2 * SLACK, "the hanging try is abandoned after `timeout` "
                                        "(0.1 s), not after the server's 5 s",
                      got=_seconds(took))

            failed: Any = None
            try:
                await ex.run(answer(session, srv.url + "/flaky/c?fail=9", timeout), timeout=2)
            except Exception as exc:  # the answer should raise: which error is up to it
                failed = exc
            ex.expect(failed is not None and srv.attempts("c") == 2,
                      "a page that keeps failing: two tries, then the error is raised",
                      got=f"{'raised ' + type(failed).__name__ if failed else 'returned'} "
                          f"after {srv.attempts('c')} tries",
                      hint="only one retry: after the second failure, let the error propagate")

            failed = None
            try:
                await ex.run(answer(session, srv.url + "/flaky/d?fail=9&status=404", timeout),
                             timeout=2)
            except Exception as exc:
                failed = exc
            ex.expect(failed is not None and srv.attempts("d") == 1,
                      "a 404 is not retried (the page is missing, asking again will not help)",
                      got=f"{'raised ' + type(failed).__name__ if failed else 'returned'} "
                          f"after {srv.attempts('d')} tries",
                      hint="retry only on TimeoutError or a status >= 500")
    return ex.report()


# --- notebook 13 -------------------------------------------------------------------------------


async def check_few_timers(answer: Callable[..., Any]) -> bool:
    """Exercise 13.1: ``await answer(delays, done)`` starts one task per entry of ``delays``;
    task ``i`` calls ``done(i)`` once ``delays[i]`` seconds have passed.  Only a few distinct
    delays occur, and the event loop should hold about one timer per distinct delay, not one
    per task."""
    ex = Exercise("13.1", "3,000 tasks, three deadlines, three timers")
    n = 3000
    # 0.1, 0.4 and 0.7 s: making 3,000 tasks took up to 0.25 s under make load, and a deadline
    # that passes while the loop is still busy tells nothing about the answer.
    deadlines = (0.1, 0.4, 0.7)
    delays = [deadlines[i % 3] for i in range(n)]
    loop = asyncio.get_running_loop()
    scheduled = getattr(loop, "_scheduled", None)  # asyncio's heap of timers (not uvloop's)
    peak = [0]
    handles: list[asyncio.TimerHandle] = []
    called: dict[int, float] = {}  # seconds from the start
    twice: list[int] = []
    ticks: list[float] = []  # when the check's own timer ran, seconds from the start
    t0 = perf_counter()

    def done(i: int) -> None:
        if i in called:
            twice.append(i)
        called[i] = perf_counter() - t0

    def sample() -> None:
        # A timer of the check itself, every half unit while the answer runs.  Cancelled
        # timers stay in the heap for a while (an earlier run's time limit): not counted.
        ticks.append(perf_counter() - t0)
        if scheduled is not None:
            live = sum(1 for handle in scheduled if not handle.cancelled())
            peak[0] = max(peak[0], live - 1)  # minus this sampler's own next timer
        handles.append(loop.call_later(UNIT / 2, sample))

    async with ex.attempt():
        sample()
        t0 = perf_counter()
        try:
            await ex.run(answer(delays, done), timeout=3)
        finally:
            for handle in handles:
                handle.cancel()
        missing = n - len(called)
        ex.expect(not missing and not twice, f"done(i) is called once for each of the {n} tasks",
                  got=f"{missing} never called" if missing else f"called twice for {twice[:3]}",
                  stop=True)
        early = [i for i, t in called.items() if t < delays[i] - 0.05 * UNIT]
        ex.expect(not early, "no task calls done(i) before its delay",
                  got=f"{len(early)} early, e.g. task {early[0]} at {called[early[0]]:.2f} s "
                      f"instead of {delays[early[0]]} s" if early else None)
        # Judged by the first task of each deadline: the rest follow as fast as the loop can
        # run them, which depends on the machine.  Two kinds of lateness are the machine's:
        # - every deadline late by the same amount (an answer whose timers start once all the
        #   tasks are made: 0.25 s under make load);
        # - a loop that is busy (making the tasks: 0.19 s seen in CI) or paused (the machine's
        #   other work, a GC: 0.12 s seen in CI just after the 0.7 s deadline).  It runs no
        #   timer meanwhile, the check's own included.
        # So a group is late only if the check's timer ran twice after the allowance while
        # the group's first task still had not called done(i).
        groups = {d: [i for i in called if delays[i] == d] for d in deadlines}
        first = {d: min(called[i] for i in group) for d, group in groups.items()}
        shared = max(0.0, min(first[d] - d for d in deadlines))
        late: list[int] = []
        for d, group in groups.items():
            allowed = d + shared + SLACK * UNIT
            if sum(1 for t in ticks if allowed < t < first[d]) >= 2:
                late += group
        ex.expect(not late, "each task calls done(i) soon after its delay (0.1, 0.4 or 0.7 s)",
                  got=f"{len(late)} late, e.g. task {late[0]} at {called[late[0]]:.2f} s "
                      f"instead of {delays[late[0]]} s" if late else None)
        if scheduled is not None:
            ex.expect(peak[0] <= 6, "a few timers in the loop (one per distinct delay), not one "
                                    "per task", got=f"{peak[0]} timers at once",
                      hint="asyncio.sleep() schedules one timer per call: make one future per "
                           "distinct delay, set by loop.call_later(delay, fut.set_result, None), "
                           "and let the tasks await those futures")
    if ex.timeline is not None and ex.passed:
        made = sum(1 for s in ex.timeline.spans if s.kind == "task")
        ex.expect(made >= n, f"starts a task per entry ({n})", got=f"{made} tasks",
                  hint="one task per entry of delays: asyncio.create_task or gather")
    return ex.report()


async def check_worker_pool(answer: Callable[..., Any]) -> bool:
    """Exercise 13.2: ``await answer(jobs, work, workers)`` returns ``[await work(job) for job
    in jobs]`` (same order), running ``workers`` jobs at a time with only ``workers`` tasks."""
    ex = Exercise("13.2", "200 jobs, 20 workers, 20 tasks")
    jobs = list(range(200))
    running = [0, 0]  # now, most at once

    async def work(job: int) -> int:
        running[0] += 1
        running[1] = max(running[1], running[0])
        try:
            await asyncio.sleep(UNIT)
        finally:
            running[0] -= 1
        return job * job

    result: Any = None
    async with ex.attempt():
        result, took = await _timed(ex, answer(jobs, work, 20))
        ex.expect(result == [j * j for j in jobs],
                  "returns every job's result in the order of `jobs`",
                  got=result if not isinstance(result, list) or len(result) <= 3
                  else f"a list of {len(result)}, starting {result[:3]}",
                  hint="store each result at its job's index: results[i] = await work(job)",
                  stop=True)
        ex.expect(running[1] == 20, "20 jobs run at once (not more, not fewer)",
                  got=f"{running[1]} at once")
        # Ten rounds of wake-ups in a row: a busy machine adds a little to each.
        ex.expect(took < 15,
                  "takes about 0.5 s (200 jobs, 20 at a time, 0.05 s each)", got=_seconds(took))
    if ex.timeline is not None and result == [j * j for j in jobs]:
        tasks = [s for s in ex.timeline.spans if s.kind == "task"]
        ex.expect(ex.timeline.max_concurrency() <= 21 and len(tasks) <= 25,
                  "at most 20 worker tasks, however many jobs there are",
                  got=f"{len(tasks)} tasks, {ex.timeline.max_concurrency()} alive at once",
                  hint="a task per job costs memory for every job: start `workers` tasks "
                       "that take jobs from an asyncio.Queue (or a shared iterator)")
    return ex.report()
