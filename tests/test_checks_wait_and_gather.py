"""The checks of notebook 04 accept the reference solutions and reject typical mistakes."""

from __future__ import annotations

import asyncio
import time

from checks_support import load_solution as _load
from checks_support import run_check

from aiocourse.checks import UNIT
from aiocourse.checks import wait_and_gather as checks

SOL04 = _load("04_wait_and_gather")


async def template(*args):
    raise NotImplementedError


def not_async(fetch, names):
    return [f"page {n}" for n in names]


# --- 4.1 --------------------------------------------------------------------------------------


def test_fetch_in_order_accepts_solution(capsys):
    ok, out = run_check(checks.check_fetch_in_order, SOL04.fetch_in_order, capsys)
    assert ok, out
    assert out.startswith("✅ Exercise 4.1")


def test_fetch_in_order_template_is_not_done(capsys):
    ok, out = run_check(checks.check_fetch_in_order, template, capsys)
    assert not ok and "not done yet" in out


def test_fetch_in_order_rejects_sequential(capsys):
    async def one_by_one(fetch, names):
        results = []
        for name in names:
            try:
                results.append(await fetch(name))
            except Exception as exc:
                results.append(exc)
        return results

    ok, out = run_check(checks.check_fetch_in_order, one_by_one, capsys)
    assert not ok
    assert "not 10" in out and "every fetch starts at once" in out


def test_fetch_in_order_rejects_completion_order(capsys):
    async def as_they_come(fetch, names):
        results = []
        for next_page in asyncio.as_completed([fetch(n) for n in names]):
            try:
                results.append(await next_page)
            except Exception as exc:
                results.append(exc)
        return results

    ok, out = run_check(checks.check_fetch_in_order, as_they_come, capsys)
    assert not ok and "the order of `names`" in out


def test_fetch_in_order_reports_a_raised_exception(capsys):
    async def plain_gather(fetch, names):
        return await asyncio.gather(*(fetch(n) for n in names))

    ok, out = run_check(checks.check_fetch_in_order, plain_gather, capsys)
    assert not ok and "your code raised ValueError: page c is broken" in out


def test_fetch_in_order_rejects_a_plain_function(capsys):
    ok, out = run_check(checks.check_fetch_in_order, not_async, capsys)
    assert not ok and "an async function" in out


# --- 4.2 --------------------------------------------------------------------------------------


def test_stop_at_first_failure_accepts_solution(capsys):
    ok, out = run_check(checks.check_stop_at_first_failure, SOL04.stop_at_first_failure,
                        capsys)
    assert ok, out


def test_stop_at_first_failure_template_is_not_done(capsys):
    ok, out = run_check(checks.check_stop_at_first_failure, template, capsys)
    assert not ok and "not done yet" in out


def test_stop_at_first_failure_rejects_cancel_without_await(capsys):
    async def forgets_to_wait(fetch, names):
        tasks = {asyncio.create_task(fetch(n)): n for n in names}
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in pending:
            task.cancel()
        results = {tasks[t]: t.result() for t in done if t.exception() is None}
        failed = next((tasks[t] for t in done if t.exception() is not None), None)
        return results, failed

    ok, out = run_check(checks.check_stop_at_first_failure, forgets_to_wait, capsys)
    assert not ok
    assert "still running when your function returned: ['d', 'e']" in out


def test_stop_at_first_failure_rejects_waiting_for_all(capsys):
    async def waits_for_all(fetch, names):
        tasks = {asyncio.create_task(fetch(n)): n for n in names}
        done, _ = await asyncio.wait(tasks)
        ok = {tasks[t]: t.result() for t in done if t.exception() is None}
        failed = next((tasks[t] for t in tasks if t.exception() is not None), None)
        return ok, failed

    ok, out = run_check(checks.check_stop_at_first_failure, waits_for_all, capsys)
    assert not ok and "returns at the failure" in out


# --- 4.3 --------------------------------------------------------------------------------------


def test_first_answer_accepts_solution(capsys):
    ok, out = run_check(checks.check_first_answer, SOL04.first_answer, capsys)
    assert ok, out


def test_first_answer_template_is_not_done(capsys):
    ok, out = run_check(checks.check_first_answer, template, capsys)
    assert not ok and "not done yet" in out


def test_first_answer_rejects_leaving_mirrors_running(capsys):
    async def leaves_them(fetch, mirrors):
        tasks = [asyncio.create_task(fetch(m)) for m in mirrors]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return done.pop().result()

    ok, out = run_check(checks.check_first_answer, leaves_them, capsys)
    assert not ok and "the slower mirrors are cancelled" in out


def test_first_answer_rejects_the_first_argument(capsys):
    async def first_listed(fetch, mirrors):
        return await fetch(mirrors[0])

    ok, out = run_check(checks.check_first_answer, first_listed, capsys)
    assert not ok and "'page fast'" in out




def test_a_paused_loop_does_not_fail_a_right_answer(capsys):
    # The whole loop stops for 3 units in the middle of the answer (as when the machine is busy):
    # the referee's beat stops too, so the answer is not blamed for the time lost.
    async def paused(fetch, names):
        async def pause():
            await asyncio.sleep(UNIT / 2)
            time.sleep(3 * UNIT)

        pauser = asyncio.create_task(pause())
        result = await SOL04.fetch_in_order(fetch, names)
        await pauser
        return result

    ok, out = run_check(checks.check_fetch_in_order, paused, capsys)
    assert ok, out


def test_a_slow_answer_on_a_free_loop_is_refused(capsys):
    async def dawdles(fetch, names):
        result = await SOL04.fetch_in_order(fetch, names)
        await asyncio.sleep(3 * UNIT)  # the loop is free meanwhile: the beat runs
        return result

    ok, out = run_check(checks.check_fetch_in_order, dawdles, capsys)
    assert not ok and "takes about 4 units" in out
