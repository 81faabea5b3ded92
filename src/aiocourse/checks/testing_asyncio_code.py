"""Checks for notebook 18 (testing asyncio code): the learner writes a test, the check runs it.

    await check_price_test(test_price)          # Exercise 18.1: a test that catches three bugs
    await check_timeout_test(test_gives_up)     # Exercise 18.2: a timeout, on a virtual clock

A test is good when it passes on the right code and fails on wrong code, so each check runs the
learner's test on the right ``price()`` of the notebook and on a few wrong ones (the bugs a
review finds), and says which bugs it caught.  Time is never judged on the real clock: 18.1's
fakes answer at once, and 18.2 runs the test on a loop whose clock is virtual (looptime's), where
a 60-second sleep ends at once and ``loop.time()`` moves by exactly 60.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import warnings
from collections.abc import Awaitable, Callable

from ..exercises import Exercise, NotDone

__all__ = ["check_price_test", "check_timeout_test", "right_price", "PRICE_BUGS",
           "TIMEOUT_BUGS"]

TestFn = Callable[[Callable[..., Awaitable]], Awaitable]


# --- the code under test: the notebook's price(), and wrong versions of it -------------------


async def right_price(shop, item, *, timeout=2.0):
    """What ``await shop.quote(item)`` returns, or None after ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            return await shop.quote(item)
    except TimeoutError:
        return None


async def _forgets_await(shop, item, *, timeout=2.0):
    try:
        async with asyncio.timeout(timeout):
            return shop.quote(item)  # a coroutine object, not the quote
    except TimeoutError:
        return None


async def _asks_twice(shop, item, *, timeout=2.0):
    try:
        async with asyncio.timeout(timeout):
            await shop.quote(item)  # a first request whose answer is thrown away
            return await shop.quote(item)
    except TimeoutError:
        return None


async def _hides_errors(shop, item, *, timeout=2.0):
    try:
        async with asyncio.timeout(timeout):
            return await shop.quote(item)
    except Exception:  # a shop's error becomes "no price", as if it were a timeout
        return None


async def _no_timeout(shop, item, *, timeout=2.0):
    return await shop.quote(item)  # waits as long as the shop takes


async def _retries(shop, item, *, timeout=2.0):
    for _ in range(2):  # a second try nobody asked for: gives up after twice the timeout
        try:
            async with asyncio.timeout(timeout):
                return await shop.quote(item)
        except TimeoutError:
            continue
    return None


async def _leaves_request(shop, item, *, timeout=2.0):
    request = asyncio.ensure_future(shop.quote(item))
    done, _ = await asyncio.wait([request], timeout=timeout)  # wait() cancels nothing
    return request.result() if done else None


PRICE_BUGS = {"forgets the await": _forgets_await, "asks the shop twice": _asks_twice,
              "turns a shop's error into None": _hides_errors}
TIMEOUT_BUGS = {"has no timeout": _no_timeout, "tries twice, so gives up late": _retries,
                "leaves the shop's request running": _leaves_request}


# --- running a test ---------------------------------------------------------------------------


def _outcome(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"failed with {type(exc).__name__}" + (f": {text}" if text else "")


async def _on_this_loop(test: TestFn, price) -> str | None:
    """Run ``test(price)`` here; None if it passed, else how it failed."""
    outcome = None
    with warnings.catch_warnings():
        # A bug that forgets its await leaves a coroutine nobody awaits: not the learner's fault.
        # Only a description of the failure is kept, so that the traceback (and the coroutine
        # its frames hold) is collected here, inside this block, and its warning is ignored.
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            async with asyncio.timeout(2):
                await test(price)
        except (NotImplementedError, NotDone):
            raise
        except TimeoutError:
            outcome = "still running after 2 s"
        except (Exception, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) and asyncio.current_task().cancelling():
                raise  # the check itself is being cancelled
            outcome = _outcome(exc)
        gc.collect()
    return outcome


def _on_virtual_clock(test: TestFn, price) -> str | None:
    """Run ``test(price)`` on a new loop with looptime's virtual clock, in this thread (not the
    kernel's: its loop is running).  None if it passed, else how it failed.  A test that waits
    for something that never comes gets looptime's IdleTimeoutError after about 1 s."""
    import looptime

    loop = looptime.new_event_loop(start=0, idle_step=0.01, idle_timeout=1)
    try:
        try:
            loop.run_until_complete(test(price))
        except (NotImplementedError, NotDone):
            raise
        except (Exception, asyncio.CancelledError) as exc:
            return _outcome(exc)
        return None
    finally:
        # A wrong price may leave a request running: cancel it, let it finish, close the loop.
        left = asyncio.all_tasks(loop)
        for task in left:
            task.cancel()
        if left:
            loop.run_until_complete(asyncio.wait(left))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _expect_async_test(ex: Exercise, answer, form: str) -> None:
    if not inspect.iscoroutinefunction(answer):
        got = "a plain function" if callable(answer) else type(answer).__name__
        ex.expect(False, f"an async test function: {form}", got=got, stop=True)


def _expect_catches(ex: Exercise, outcomes: dict[str, str | None]) -> None:
    for bug, failure in outcomes.items():
        ex.expect(failure is not None, f"fails on a price() that {bug}",
                  got="your test passed on it", hint=_HINTS.get(bug))


_HINTS = {
    "forgets the await": "compare what price() returns with the quote your fake gives",
    "asks the shop twice": "AsyncMock counts awaits: quote.assert_awaited_once_with(...)",
    "turns a shop's error into None":
        "give a fake whose quote raises (AsyncMock(side_effect=OSError(...))) and check that "
        "price() raises it too: with pytest.raises(...), or try/except",
    "has no timeout": "a shop slower than the timeout: price() must return None",
    "tries twice, so gives up late":
        "on a virtual clock the time is exact: loop.time() moves by exactly the timeout",
    "leaves the shop's request running":
        "let the fake note when its sleep is cancelled (except asyncio.CancelledError: "
        "note it, then raise)",
}


async def check_price_test(answer: TestFn) -> bool:
    """Exercise 18.1: ``answer(price)`` tests price() with AsyncMock fakes."""
    ex = Exercise("18.1", "a test that catches three bugs")
    async with ex.attempt():
        _expect_async_test(ex, answer, "async def test_price(price)")
        right = await _on_this_loop(answer, right_price)
        ex.expect(right is None, "passes on the notebook's price()", got=right,
                  hint="a test that fails on right code only tells you the test is wrong",
                  stop=True)
        _expect_catches(ex, {bug: await _on_this_loop(answer, wrong)
                             for bug, wrong in PRICE_BUGS.items()})
    return ex.report()


async def check_timeout_test(answer: TestFn) -> bool:
    """Exercise 18.2: ``answer(price)`` tests price()'s timeout; it runs on a virtual clock."""
    ex = Exercise("18.2", "test a timeout without waiting for it")
    loop = asyncio.get_running_loop()
    async with ex.attempt():
        _expect_async_test(ex, answer, "async def test_gives_up(price)")
        right = await loop.run_in_executor(None, _on_virtual_clock, answer, right_price)
        hung = (right or "").startswith("failed with IdleTimeoutError")  # nothing could happen
        ex.expect(right is None, "passes on the notebook's price() (on a virtual clock)",
                  got=right,
                  hint="it waits for something that never happens: every sleep ends at once "
                       "here, so what is it awaiting?" if hung else
                       "time on the loop's clock, asyncio.get_running_loop().time(), not "
                       "time.perf_counter(): only the loop's clock is virtual", stop=True)
        outcomes = {}
        for bug, wrong in TIMEOUT_BUGS.items():
            outcomes[bug] = await loop.run_in_executor(None, _on_virtual_clock, answer, wrong)
        _expect_catches(ex, outcomes)
    return ex.report()
