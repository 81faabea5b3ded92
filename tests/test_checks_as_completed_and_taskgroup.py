"""The checks of notebook 05 accept the reference solutions and reject typical mistakes."""

from __future__ import annotations

import asyncio

from checks_support import load_solution as _load
from checks_support import run_check

from aiocourse.checks import as_completed_and_taskgroup as checks

SOL05 = _load("05_as_completed_and_taskgroup")


async def template(*args):
    raise NotImplementedError


# --- 5.1 --------------------------------------------------------------------------------------


def test_handle_as_ready_accepts_solution(capsys):
    ok, out = run_check(checks.check_handle_as_ready, SOL05.handle_as_ready, capsys)
    assert ok, out


def test_handle_as_ready_template_is_not_done(capsys):
    ok, out = run_check(checks.check_handle_as_ready, template, capsys)
    assert not ok and "not done yet" in out


def test_handle_as_ready_rejects_handling_at_the_end(capsys):
    async def gather_then_handle(fetch, names, handle):
        pages = await asyncio.gather(*(fetch(n) for n in names))
        order = sorted(pages, key=lambda p: {"page b": 0, "page c": 1, "page a": 2}[p])
        for page in order:
            handle(page)
        return order

    ok, out = run_check(checks.check_handle_as_ready, gather_then_handle, capsys)
    assert not ok and "handled only after the next page had arrived" in out


def test_handle_as_ready_rejects_forgetting_handle(capsys):
    async def no_handle(fetch, names, handle):
        return [await c for c in asyncio.as_completed([fetch(n) for n in names])]

    ok, out = run_check(checks.check_handle_as_ready, no_handle, capsys)
    assert not ok and "handle() was never called" in out


# --- 5.2 --------------------------------------------------------------------------------------


def test_all_or_report_accepts_solution(capsys):
    ok, out = run_check(checks.check_all_or_report, SOL05.all_or_report, capsys)
    assert ok, out


def test_all_or_report_template_is_not_done(capsys):
    ok, out = run_check(checks.check_all_or_report, template, capsys)
    assert not ok and "not done yet" in out


def test_all_or_report_rejects_gather(capsys):
    async def with_gather(fetch, names):
        try:
            return await asyncio.gather(*(fetch(n) for n in names))
        except KeyError as exc:
            return f"missing: {exc.args[0]}"

    ok, out = run_check(checks.check_all_or_report, with_gather, capsys)
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

    ok, out = run_check(checks.check_all_or_report, swallows, capsys)
    assert not ok and "propagates out of your function" in out
