"""Checks for notebook 15 (real network I/O).

    from aiocourse.checks.network_io import check_fetch_limited
    await check_fetch_limited(fetch_limited)   # prints feedback, returns True or False

The checks start their own ``LocalServer`` on 127.0.0.1 and their own ``aiohttp.ClientSession``,
call the answer with them, and then ask the server what it saw: how many requests, how many at
once, which ones were retried.  "About N s" is the referee's beat's verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..exercises import Exercise
from ..http_server import LocalServer
from . import UNIT

__all__ = ["UNIT", "check_fetch_limited", "check_fetch_with_retry"]


def _seconds(seconds: float) -> str:
    # Notebook 15 counts in units of 0.2 s, these checks in 0.05 s: say seconds.
    return f"{seconds:.2f} s"


def _session():
    import aiohttp

    return aiohttp.ClientSession()


async def check_fetch_limited(answer: Callable[..., Any]) -> bool:
    """Exercise 15.1: ``await answer(session, urls, limit)`` fetches every URL with at most
    ``limit`` requests in flight and returns the page texts in the order of ``urls``."""
    ex = Exercise("15.1", "fetch 30 pages with at most 5 in flight")
    async with LocalServer(delay=UNIT) as srv, _session() as session:
        urls = [srv.page_url(i) for i in range(30)]
        async with ex.attempt():
            pages, run = await ex.timed(answer(session, urls, 5))
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
            # Six rounds of requests, against 30 for one page at a time: the beat says whether
            # it took longer while the loop was free to go on.
            ex.expect(not ex.slow(run, 6, allowance=4),
                      "takes about 0.3 s (30 pages, 5 at a time, 0.05 s each)",
                      got=_seconds(run.took))
            srv.reset_stats()
            few = [srv.page_url(i) for i in range(4)]
            pages = await ex.run(answer(session, few, 2), timeout=2)
            ex.expect(pages == [f"page {i}" for i in range(4)] and srv.max_in_flight == 2,
                      "respects `limit`: 4 pages with limit=2 go 2 at a time",
                      got=f"{pages!r}, the server saw {srv.max_in_flight} at once")
    return ex.report()


async def check_fetch_with_retry(answer: Callable[..., Any]) -> bool:
    """Exercise 15.2: ``await answer(session, url, timeout)`` returns the page text; a try that
    takes longer than ``timeout`` seconds or gets a status of 500 or more is retried once; any
    other failure, or a second failed try, raises."""
    ex = Exercise("15.2", "a timeout and one retry")
    timeout = 2 * UNIT
    async with LocalServer() as srv, _session() as session:
        async with ex.attempt():
            page = await ex.run(answer(session, srv.page_url("ok"), timeout))
            ex.expect(page == "page ok", "a page that works: its text, 'page ok'", got=page,
                      hint="return await resp.text()", stop=True)
            ex.expect(srv.requests == 1, "no retry when the first try works",
                      got=f"{srv.requests} requests")

            page = await ex.run(answer(session, srv.url + "/flaky/a?fail=1", timeout))
            ex.expect(page == "page a" and srv.attempts("a") == 2,
                      "a 503 on the first try: one retry, then the page",
                      got=f"{page!r} after {srv.attempts('a')} tries",
                      hint="a status of 500 or more is a server error: call "
                           "resp.raise_for_status() (aiohttp does not raise by itself) and "
                           "retry on aiohttp.ClientResponseError with e.status >= 500")

            page, run = await ex.timed(answer(session, srv.url + "/flaky/b?fail=1&slow=5",
                                              timeout))
            ex.expect(page == "page b" and srv.attempts("b") == 2,
                      "a first try that hangs: given up after the timeout, then retried",
                      got=f"{page!r} after {srv.attempts('b')} tries",
                      hint="`async with asyncio.timeout(timeout):` around one try; catch "
                           "TimeoutError and try again")
            ex.expect(not ex.slow(run, 2, allowance=3), "the hanging try is abandoned after "
                      "`timeout` (0.1 s), not after the server's 5 s", got=_seconds(run.took))

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


