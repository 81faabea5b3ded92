"""The checks of notebook 17 accept the reference solutions and reject typical mistakes."""

from __future__ import annotations

import asyncio
import logging
import time

from checks_support import load_solution as _load
from checks_support import run_check

from aiocourse.checks import debugging_and_error_gallery as checks

SOL17 = _load("17_debugging_and_error_gallery")




def not_done(*args):
    raise NotImplementedError


async def not_done_async(*args):
    raise NotImplementedError


# --- 17.1 -------------------------------------------------------------------------------------


def test_unblock_accepts_solution(capsys):
    ok, out = run_check(checks.check_unblock, SOL17.checksum_async, capsys)
    assert ok, out


def test_unblock_rejects_a_blocking_call(capsys):
    async def blocking(checksum, data):
        return checksum(data)

    ok, out = run_check(checks.check_unblock, blocking, capsys)
    assert not ok
    assert "debug mode logs no slow callback" in out and "another thread" in out


def test_unblock_rejects_a_plain_function(capsys):
    def plain(checksum, data):
        return checksum(data)

    ok, out = run_check(checks.check_unblock, plain, capsys)
    assert not ok and "async def" in out


def test_unblock_template_is_not_done(capsys):
    ok, out = run_check(checks.check_unblock, not_done_async, capsys)
    assert not ok and "not done yet" in out


# --- 17.2 -------------------------------------------------------------------------------------


def test_report_failure_accepts_solution(capsys):
    ok, out = run_check(checks.check_report_failure, SOL17.report_failure, capsys)
    assert ok, out


def test_report_failure_rejects_exception_on_a_cancelled_task(capsys):
    def naive(task):
        exc = task.exception()  # raises CancelledError for the cancelled task
        if exc is not None:
            print(f"{task.get_name()} failed: {exc!r}")

    ok, out = run_check(checks.check_report_failure, naive, capsys)
    assert not ok and "cancelled task" in out


def test_report_failure_rejects_a_callback_that_only_looks(capsys):
    def looks(task):
        if not task.cancelled() and task._exception is not None:  # does not retrieve it
            print(f"{task.get_name()} failed: {task._exception!r}")

    ok, out = run_check(checks.check_report_failure, looks, capsys)
    assert not ok and "never retrieved" in out


def test_report_failure_template_is_not_done(capsys):
    ok, out = run_check(checks.check_report_failure, not_done, capsys)
    assert not ok and "not done yet" in out


# --- 17.3 -------------------------------------------------------------------------------------


def test_await_chain_accepts_solution(capsys):
    ok, out = run_check(checks.check_await_chain, SOL17.await_chain, capsys)
    assert ok, out


def test_await_chain_accepts_qualified_names(capsys):
    def qualnames(task):
        names, coro = [], task.get_coro()
        while asyncio.iscoroutine(coro):
            names.append(coro.__qualname__)
            coro = coro.cr_await
        return tuple(names)

    ok, out = run_check(checks.check_await_chain, qualnames, capsys)
    assert ok, out


def test_await_chain_rejects_get_stack(capsys):
    def stack(task):
        return [frame.f_code.co_name for frame in task.get_stack()]  # one frame only

    ok, out = run_check(checks.check_await_chain, stack, capsys)
    assert not ok and "three awaits deep" in out


def test_await_chain_template_is_not_done(capsys):
    ok, out = run_check(checks.check_await_chain, not_done, capsys)
    assert not ok and "not done yet" in out


def test_slow_callback_log_restores_the_loop_after_an_error():
    async def main():
        loop = asyncio.get_running_loop()
        threshold = loop.slow_callback_duration
        try:
            with checks._slow_callback_log(loop, 0.01) as found:
                await asyncio.sleep(0)  # debug mode counts from the next step on
                time.sleep(0.02)  # this step is slow...
                await asyncio.sleep(0)
                raise KeyError("boom")
        except KeyError:
            pass
        assert loop.get_debug() is False and loop.slow_callback_duration == threshold
        return found

    found = asyncio.run(main())
    assert found and found[0].startswith("Executing ")
    assert not logging.getLogger("asyncio").handlers
