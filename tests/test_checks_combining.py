"""The checks of notebooks 04 and 05 accept the reference solutions and reject typical mistakes."""

from __future__ import annotations

import asyncio

import pytest
from checks_support import load_solution as _load
from checks_support import run_check

from aiocourse.checks import combining
from aiocourse.checks.combining import Pages

SOL04 = _load("04_wait_and_gather")
SOL05 = _load("05_as_completed_and_taskgroup")


async def template(*args):
    raise NotImplementedError


def not_async(fetch, names):
    return [f"page {n}" for n in names]


# --- Pages ------------------------------------------------------------------------------------


def test_pages_records_what_happened():
    async def main():
        pages = Pages({"a": 1, "b": 2}, errors={"b": KeyError("b")})
        a = asyncio.create_task(pages.fetch("a"))
        b = asyncio.create_task(pages.fetch("b"))
        assert await a == "page a"
        with pytest.raises(KeyError):
            await b
        c = asyncio.create_task(pages.fetch("a"))
        await asyncio.sleep(0)
        assert pages.running() == []  # "a" finished once already: names, not calls
        c.cancel()
        with pytest.raises(asyncio.CancelledError):
            await c
        with pytest.raises(KeyError):
            await pages.fetch("zzz")
        return pages

    pages = asyncio.run(main())
    assert set(pages.finished) == {"a"} and set(pages.failed) == {"b"}
    assert set(pages.cancelled) == {"a"}
    assert 0.5 < pages.finished["a"] < 1.8


# --- 4.1 --------------------------------------------------------------------------------------


def test_fetch_in_order_accepts_solution(capsys):
    ok, out = run_check(combining.check_fetch_in_order, SOL04.fetch_in_order, capsys)
    assert ok, out
    assert out.startswith("✅ Exercise 4.1")


def test_fetch_in_order_template_is_not_done(capsys):
    ok, out = run_check(combining.check_fetch_in_order, template, capsys)
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

    ok, out = run_check(combining.check_fetch_in_order, one_by_one, capsys)
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

    ok, out = run_check(combining.check_fetch_in_order, as_they_come, capsys)
    assert not ok and "the order of `names`" in out


def test_fetch_in_order_reports_a_raised_exception(capsys):
    async def plain_gather(fetch, names):
        return await asyncio.gather(*(fetch(n) for n in names))

    ok, out = run_check(combining.check_fetch_in_order, plain_gather, capsys)
    assert not ok and "your code raised ValueError: page c is broken" in out


def test_fetch_in_order_rejects_a_plain_function(capsys):
    ok, out = run_check(combining.check_fetch_in_order, not_async, capsys)
    assert not ok and "an async function" in out


# --- 4.2 --------------------------------------------------------------------------------------


def test_stop_at_first_failure_accepts_solution(capsys):
    ok, out = run_check(combining.check_stop_at_first_failure, SOL04.stop_at_first_failure,
                        capsys)
    assert ok, out


def test_stop_at_first_failure_template_is_not_done(capsys):
    ok, out = run_check(combining.check_stop_at_first_failure, template, capsys)
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

    ok, out = run_check(combining.check_stop_at_first_failure, forgets_to_wait, capsys)
    assert not ok
    assert "still running when your function returned: ['d', 'e']" in out


def test_stop_at_first_failure_rejects_waiting_for_all(capsys):
    async def waits_for_all(fetch, names):
        tasks = {asyncio.create_task(fetch(n)): n for n in names}
        done, _ = await asyncio.wait(tasks)
        ok = {tasks[t]: t.result() for t in done if t.exception() is None}
        failed = next((tasks[t] for t in tasks if t.exception() is not None), None)
        return ok, failed

    ok, out = run_check(combining.check_stop_at_first_failure, waits_for_all, capsys)
    assert not ok and "returns at the failure" in out


# --- 4.3 --------------------------------------------------------------------------------------


def test_first_answer_accepts_solution(capsys):
    ok, out = run_check(combining.check_first_answer, SOL04.first_answer, capsys)
    assert ok, out


def test_first_answer_template_is_not_done(capsys):
    ok, out = run_check(combining.check_first_answer, template, capsys)
    assert not ok and "not done yet" in out


def test_first_answer_rejects_leaving_mirrors_running(capsys):
    async def leaves_them(fetch, mirrors):
        tasks = [asyncio.create_task(fetch(m)) for m in mirrors]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return done.pop().result()

    ok, out = run_check(combining.check_first_answer, leaves_them, capsys)
    assert not ok and "the slower mirrors are cancelled" in out


def test_first_answer_rejects_the_first_argument(capsys):
    async def first_listed(fetch, mirrors):
        return await fetch(mirrors[0])

    ok, out = run_check(combining.check_first_answer, first_listed, capsys)
    assert not ok and "'page fast'" in out


# --- 5.1 --------------------------------------------------------------------------------------


def test_handle_as_ready_accepts_solution(capsys):
    ok, out = run_check(combining.check_handle_as_ready, SOL05.handle_as_ready, capsys)
    assert ok, out


def test_handle_as_ready_template_is_not_done(capsys):
    ok, out = run_check(combining.check_handle_as_ready, template, capsys)
    assert not ok and "not done yet" in out


def test_handle_as_ready_rejects_handling_at_the_end(capsys):
    async def gather_then_handle(fetch, names, handle):
        pages = await asyncio.gather(*(fetch(n) for n in names))
        order = sorted(pages, key=lambda p: {"page b": 0, "page c": 1, "page a": 2}[p])
        for page in order:
            handle(page)
        return order

    ok, out = run_check(combining.check_handle_as_ready, gather_then_handle, capsys)
    assert not ok and "handled this many units after arriving" in out


def test_handle_as_ready_rejects_forgetting_handle(capsys):
    async def no_handle(fetch, names, handle):
        return [await c for c in asyncio.as_completed([fetch(n) for n in names])]

    ok, out = run_check(combining.check_handle_as_ready, no_handle, capsys)
    assert not ok and "handle() was never called" in out


# --- 5.2 --------------------------------------------------------------------------------------


def test_all_or_report_accepts_solution(capsys):
    ok, out = run_check(combining.check_all_or_report, SOL05.all_or_report, capsys)
    assert ok, out


def test_all_or_report_template_is_not_done(capsys):
    ok, out = run_check(combining.check_all_or_report, template, capsys)
    assert not ok and "not done yet" in out


def test_all_or_report_rejects_gather(capsys):
    async def with_gather(fetch, names):
        try:
            return await asyncio.gather(*(fetch(n) for n in names))
        except KeyError as exc:
            return f"missing: {exc.args[0]}"

    ok, out = run_check(combining.check_all_or_report, with_gather, capsys)
    assert not ok and "page c is cancelled when b fails" in out


def test_all_or_report_rejects_swallowing_every_error(capsys):
    async def swallows(fetch, names):
        missing = []
        try:
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(fetch(n)) for n in names]
        except* Exception as group:
            missing = sorted(str(e.args[0]) for e in group.exceptions)
        return "missing: " + ", ".join(missing) if missing else [t.result() for t in tasks]

    ok, out = run_check(combining.check_all_or_report, swallows, capsys)
    assert not ok and "propagates out of your function" in out
