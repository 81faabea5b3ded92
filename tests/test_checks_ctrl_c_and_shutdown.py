"""The checks of notebook 08 accept the reference solutions and reject typical mistakes."""

from __future__ import annotations

import asyncio
import signal

import pytest
from checks_support import load_solution as _load
from checks_support import run_check

from aiocourse.checks import ctrl_c_and_shutdown as checks
from aiocourse.checks.ctrl_c_and_shutdown import UNIT

SOL08 = _load("08_ctrl_c_and_shutdown")


async def template(*args):
    raise NotImplementedError


# --- 8.1 (each runs a real script: about half a second) ----------------------------------------


async def serve(jobs, handle):
    raise NotImplementedError  # the template, as the notebook has it


async def serve_plain(jobs, handle):
    finished = []
    for job in jobs:
        await handle(job)
        finished.append(job)
    return finished


async def serve_ignores_flag(jobs, handle):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    finished = []
    for job in jobs:
        await handle(job)
        finished.append(job)
    return finished


async def serve_cancels_itself(jobs, handle):
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, asyncio.current_task().cancel)
    finished = []
    try:
        for job in jobs:
            await handle(job)
            finished.append(job)
    except asyncio.CancelledError:
        pass
    return finished


def test_graceful_service_accepts_solution(capsys):
    ok, out = run_check(checks.check_graceful_service, SOL08.serve, capsys)
    assert ok, out


@pytest.mark.parametrize("answer, complaint", [
    (serve_plain, "the job in progress at Ctrl+C (b) finishes"),
    (serve_ignores_flag, "no new job starts after Ctrl+C"),
    (serve_cancels_itself, "the job in progress at Ctrl+C (b) finishes"),
])
def test_graceful_service_rejects(answer, complaint, capsys):
    ok, out = run_check(checks.check_graceful_service, answer, capsys)
    assert not ok and complaint in out, out


def test_graceful_service_template_is_not_done(capsys):
    ok, out = run_check(checks.check_graceful_service, serve, capsys)
    assert not ok and "not done yet" in out, out


def test_graceful_service_wants_an_async_function(capsys):
    ok, out = run_check(checks.check_graceful_service, print, capsys)
    assert not ok and "an async function" in out, out


# --- 8.2 --------------------------------------------------------------------------------------


async def cancels_everything(tasks):
    others = [t for t in tasks if t is not asyncio.current_task()]
    cancelled = [t for t in others if t.cancel()]
    await asyncio.wait(others)
    return len(cancelled)


async def does_not_wait(tasks):
    return sum(t.cancel() for t in tasks if t.get_name().startswith("job"))


async def counts_every_job(tasks):
    jobs = [t for t in tasks if t.get_name().startswith("job")]
    for t in jobs:
        t.cancel()
    await asyncio.wait(jobs)
    return len(jobs)


async def cancels_itself_too(tasks):
    for t in tasks:
        t.cancel()
    await asyncio.sleep(UNIT)
    return 3


async def gathers_and_raises(tasks):
    jobs = [t for t in tasks if t.get_name().startswith("job")]
    for t in jobs:
        t.cancel()
    await asyncio.gather(*jobs)  # a cancelled child makes gather raise CancelledError here
    return 3


def test_stop_jobs_accepts_solution(capsys):
    ok, out = run_check(checks.check_stop_jobs, SOL08.stop_jobs, capsys)
    assert ok, out


@pytest.mark.parametrize("answer, complaint", [
    (cancels_everything, "the other tasks keep running"),
    (does_not_wait, "they have ended (cleanup included)"),
    (counts_every_job, "returns 3"),
    (cancels_itself_too, "your function is not cancelled"),
    (gathers_and_raises, "a CancelledError came out of it"),
])
def test_stop_jobs_rejects(answer, complaint, capsys):
    ok, out = run_check(checks.check_stop_jobs, answer, capsys)
    assert not ok and complaint in out, out


def test_stop_jobs_template_is_not_done(capsys):
    ok, out = run_check(checks.check_stop_jobs, template, capsys)
    assert not ok and "not done yet" in out
