"""The checks of notebook 09 accept the reference solutions and reject typical mistakes."""

from __future__ import annotations

import asyncio
import functools

import pytest
from checks_support import load_solution, run_check

from aiocourse.checks import shutting_down_a_service as checks

SOL = load_solution("09_shutting_down_a_service")


# --- 9.1 -------------------------------------------------------------------------------------


async def drain_template(jobs, deadline):
    raise NotImplementedError


async def gathers_everything(jobs, deadline):
    await asyncio.gather(*jobs)
    return set()


async def sleeps_to_the_deadline(jobs, deadline):
    await asyncio.sleep(deadline)
    late = {task for task in jobs if not task.done()}
    for task in late:
        task.cancel()
    if late:
        await asyncio.wait(late)
    return late


async def does_not_wait_for_the_cleanup(jobs, deadline):
    if not jobs:
        return set()
    _, late = await asyncio.wait(jobs, timeout=deadline)
    for task in late:
        task.cancel()
    return late


async def forgets_the_empty_set(jobs, deadline):
    _, late = await asyncio.wait(jobs, timeout=deadline)
    for task in late:
        task.cancel()
    if late:
        await asyncio.wait(late)
    return late


async def returns_names(jobs, deadline):
    return {task.get_name() for task in await SOL.drain(jobs, deadline)}


async def cancels_at_once(jobs, deadline):
    for task in jobs:
        task.cancel()
    if jobs:
        await asyncio.wait(jobs)
    return set(jobs)


async def waits_past_the_deadline(jobs, deadline):
    if not jobs:
        return set()
    _, late = await asyncio.wait(jobs, timeout=deadline + 0.1)
    for task in late:
        task.cancel()
    if late:
        await asyncio.wait(late)
    return late


def test_drain_accepts_solution(capsys):
    ok, out = run_check(checks.check_drain, SOL.drain, capsys)
    assert ok, out


@pytest.mark.parametrize("answer, complaint", [
    (gathers_everything, "does not raise when a job has failed"),
    (sleeps_to_the_deadline, "returns as soon as the last job has ended"),
    (does_not_wait_for_the_cleanup, "returns only when the cancelled jobs have cleaned up"),
    (forgets_the_empty_set, "returns an empty set at once when no job is in flight"),
    (returns_names, "returns the tasks themselves"),
    (cancels_at_once, "cancels nothing when every job ends before the deadline"),
    (waits_past_the_deadline, "cancels them at the deadline, not later"),
])
def test_drain_rejects(answer, complaint, capsys, caplog):
    ok, out = run_check(checks.check_drain, answer, capsys)
    assert not ok and complaint in out, out
    # The check reads the failed job's exception: asyncio has nothing to log about it.
    assert not [r for r in caplog.records if r.name == "asyncio"], caplog.text


def test_drain_template_is_not_done(capsys):
    ok, out = run_check(checks.check_drain, drain_template, capsys)
    assert not ok and "not done yet" in out, out


def test_drain_wants_an_async_function(capsys):
    ok, out = run_check(checks.check_drain, print, capsys)
    assert not ok and "an async function" in out, out


# --- 9.2 -------------------------------------------------------------------------------------
# The check runs each answer as a script: what they need beyond asyncio is imported inside.


async def serve_template(next_job, handle, load_config):
    raise NotImplementedError


async def one_at_a_time(next_job, handle, load_config):
    import signal

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    config = load_config()
    started = 0

    def reload():
        nonlocal config
        try:
            config = load_config()
        except ValueError:
            pass

    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload)
    while not stop.is_set():
        await handle(await next_job(), config)
        started += 1
    return started


async def no_sighup_handler(next_job, handle, load_config):
    import signal

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    config = load_config()
    started = 0

    async def take(group):
        nonlocal started
        while True:
            group.create_task(handle(await next_job(), config))
            started += 1

    async with asyncio.TaskGroup() as group:
        taking = group.create_task(take(group))
        await stop.wait()
        taking.cancel()
    return started


async def reload_unprotected(next_job, handle, load_config):
    import signal

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    config = load_config()
    started = 0

    def reload():
        nonlocal config
        config = load_config()

    async def take(group):
        nonlocal started
        while True:
            group.create_task(handle(await next_job(), config))
            started += 1

    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload)
    async with asyncio.TaskGroup() as group:
        taking = group.create_task(take(group))
        await stop.wait()
        taking.cancel()
    return started


async def checks_a_flag(next_job, handle, load_config):
    import signal

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    config = load_config()
    running = set()

    def reload():
        nonlocal config
        try:
            config = load_config()
        except ValueError:
            pass

    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload)
    started = 0
    while not stop.is_set():
        job = await next_job()  # waits on after SIGTERM, for a job that never comes
        if stop.is_set():
            break
        task = asyncio.create_task(handle(job, config))
        running.add(task)
        task.add_done_callback(running.discard)
        started += 1
    await asyncio.wait(running)
    return started


async def returns_at_once(next_job, handle, load_config):
    import signal

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    config = load_config()
    running = set()
    started = 0

    def reload():
        nonlocal config
        try:
            config = load_config()
        except ValueError:
            pass

    async def take():
        nonlocal started
        while True:
            task = asyncio.create_task(handle(await next_job(), config))
            running.add(task)
            task.add_done_callback(running.discard)
            started += 1

    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload)
    taking = asyncio.create_task(take())
    await stop.wait()
    taking.cancel()
    return started  # asyncio.run then cancels the jobs still running


def test_service_accepts_solution(capsys):
    ok, out = run_check(checks.check_service, SOL.serve, capsys)
    assert ok, out


@pytest.mark.parametrize("answer, complaint", [
    (one_at_a_time, "jobs run at the same time"),
    (no_sighup_handler, "SIGHUP does not end the service"),
    (reload_unprotected, "a broken config.json (the second SIGHUP) keeps the old config"),
    (checks_a_flag, "after SIGTERM it takes no new job and ends by itself"),
    (returns_at_once, "every job it started finishes before it returns"),
])
def test_service_rejects(answer, complaint, capsys):
    ok, out = run_check(checks.check_service, answer, capsys)
    assert not ok and complaint in out, out


def test_service_template_is_not_done(capsys):
    ok, out = run_check(checks.check_service, serve_template, capsys)
    assert not ok and "not done yet" in out, out


def test_service_wants_an_async_function(capsys):
    ok, out = run_check(checks.check_service, print, capsys)
    assert not ok and "an async function" in out, out


def test_service_needs_a_function_whose_source_it_can_read(capsys):
    answer = functools.partial(SOL.serve)  # a coroutine function without source of its own
    ok, out = run_check(checks.check_service, answer, capsys)
    assert not ok and "a function whose source can be read" in out, out
