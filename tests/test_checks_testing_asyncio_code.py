"""The checks of notebook 18: the reference tests pass,
typical weak or wrong tests are refused, the template is "not done yet", nothing is left running."""

from __future__ import annotations

import asyncio
import time
from unittest.mock import AsyncMock, MagicMock, Mock

import pytest
from checks_support import load_solution, run_check

from aiocourse.checks.testing_asyncio_code import (
    PRICE_BUGS,
    TIMEOUT_BUGS,
    check_price_test,
    check_timeout_test,
    right_price,
)

solution = load_solution("18_testing_asyncio_code")


def _shop(**kwargs):
    shop = Mock()
    shop.quote = AsyncMock(**kwargs)
    return shop


def _slow_shop():
    async def slow(item):
        await asyncio.sleep(60)
        return 3
    return _shop(side_effect=slow)


# --- Exercise 18.1 ------------------------------------------------------------------------


def test_18_1_accepts_the_solution(capsys):
    ok, out = run_check(check_price_test, solution.test_price, capsys)
    assert ok, out
    assert out.startswith("✅ Exercise 18.1")
    for bug in PRICE_BUGS:
        assert bug in out


async def _checks_only_the_value(price):
    assert await price(_shop(return_value=3), "tea") == 3


async def _uses_a_magic_mock(price):
    shop = Mock()
    shop.quote = MagicMock(return_value=3)
    assert await price(shop, "tea") == 3


async def _asserts_nothing(price):
    await price(_shop(return_value=3), "tea")


def test_18_1_refuses_a_test_that_misses_two_bugs(capsys):
    ok, out = run_check(check_price_test, _checks_only_the_value, capsys)
    assert not ok
    assert "fails on a price() that asks the shop twice" in out
    assert "fails on a price() that turns a shop's error into None" in out
    assert "already right" in out and "forgets the await" in out.split("already right")[1]


def test_18_1_refuses_a_test_that_fails_on_right_code(capsys):
    ok, out = run_check(check_price_test, _uses_a_magic_mock, capsys)
    assert not ok
    assert "passes on the notebook's price()" in out and "TypeError" in out


def test_18_1_refuses_a_test_that_asserts_nothing(capsys):
    ok, out = run_check(check_price_test, _asserts_nothing, capsys)
    assert not ok
    assert out.count("your test passed on it") == len(PRICE_BUGS)


def test_18_1_refuses_a_plain_function(capsys):
    def plain(price):
        return None
    ok, out = run_check(check_price_test, plain, capsys)
    assert not ok and "an async test function" in out and "a plain function" in out


async def _template(price):
    raise NotImplementedError


def test_18_1_template_is_not_done(capsys):
    ok, out = run_check(check_price_test, _template, capsys)
    assert not ok and "not done yet" in out


def test_the_bugs_are_bugs():
    """Each wrong price() really differs from the right one on the solution's test."""
    async def main():
        await solution.test_price(right_price)
        for wrong in PRICE_BUGS.values():
            with pytest.raises(AssertionError):
                await solution.test_price(wrong)
    with pytest.warns(RuntimeWarning, match="never awaited"):  # the forgotten await's coroutine
        asyncio.run(main())
        import gc
        gc.collect()


# --- Exercise 18.2 ------------------------------------------------------------------------


def test_18_2_accepts_the_solution_without_waiting(capsys):
    started = time.perf_counter()
    ok, out = run_check(check_timeout_test, solution.test_price_gives_up, capsys)
    assert ok, out
    for bug in TIMEOUT_BUGS:
        assert bug in out
    # Four runs of a test that sleeps 60 s on the loop's clock: the virtual clock took it.
    assert time.perf_counter() - started < 60


async def _checks_only_none(price):
    assert await price(_slow_shop(), "tea", timeout=2) is None


async def _times_on_the_real_clock(price):
    started = time.perf_counter()
    assert await price(_slow_shop(), "tea", timeout=2) is None
    assert round(time.perf_counter() - started) == 2


async def _hangs(price):
    await asyncio.Event().wait()


def test_18_2_refuses_a_test_that_checks_only_the_result(capsys):
    ok, out = run_check(check_timeout_test, _checks_only_none, capsys)
    assert not ok
    assert "fails on a price() that tries twice, so gives up late" in out
    assert "fails on a price() that leaves the shop's request running" in out


def test_18_2_refuses_a_test_on_the_real_clock(capsys):
    ok, out = run_check(check_timeout_test, _times_on_the_real_clock, capsys)
    assert not ok
    assert "passes on the notebook's price()" in out and "time.perf_counter()" in out


def test_18_2_a_hanging_test_ends_and_is_refused(capsys):
    ok, out = run_check(check_timeout_test, _hangs, capsys)
    assert not ok and "IdleTimeoutError" in out and "never happens" in out


def test_18_2_template_is_not_done(capsys):
    ok, out = run_check(check_timeout_test, _template, capsys)
    assert not ok and "not done yet" in out


def test_18_2_refuses_a_plain_function(capsys):
    ok, out = run_check(check_timeout_test, lambda price: None, capsys)
    assert not ok and "an async test function" in out
