"""The checks of notebook 03 accept the reference solutions and reject typical mistakes."""

import asyncio
import time

from checks_support import load_solution

from aiocourse.checks.tasks_and_futures import (
    UNIT,
    check_fetch_all,
    check_fire,
    check_wait_for_callback,
)

solution = load_solution("03_tasks_and_futures")


def run(check, answer):
    return asyncio.run(check(answer))


# --- Exercise 3.1 ------------------------------------------------------------------------------

def test_fetch_all_accepts_solution(capsys):
    assert run(check_fetch_all, solution.fetch_all) is True
    assert "✅ Exercise 3.1" in capsys.readouterr().out


def test_fetch_all_accepts_gather(capsys):
    async def fetch_all(fetch, jobs):
        return await asyncio.gather(*(fetch(name, units) for name, units in jobs))

    assert run(check_fetch_all, fetch_all) is True


def test_fetch_all_template_is_not_done(capsys):
    async def fetch_all(fetch, jobs):
        raise NotImplementedError

    assert run(check_fetch_all, fetch_all) is False
    assert "not done yet" in capsys.readouterr().out


def test_fetch_all_rejects_sequential_awaits(capsys):
    async def fetch_all(fetch, jobs):
        return [await fetch(name, units) for name, units in jobs]

    assert run(check_fetch_all, fetch_all) is False
    out = capsys.readouterr().out
    assert "at the same time" in out and "at most 0 task(s) at once" in out


def test_fetch_all_rejects_tasks_awaited_as_soon_as_created(capsys):
    async def fetch_all(fetch, jobs):
        return [await asyncio.create_task(fetch(name, units)) for name, units in jobs]

    assert run(check_fetch_all, fetch_all) is False
    assert "at most 1 task(s) at once" in capsys.readouterr().out


def test_fetch_all_rejects_completion_order(capsys):
    async def fetch_all(fetch, jobs):
        tasks = [asyncio.create_task(fetch(name, units)) for name, units in jobs]
        return [await t for t in asyncio.as_completed(tasks)]

    assert run(check_fetch_all, fetch_all) is False
    assert "in the order of `jobs`" in capsys.readouterr().out


# --- Exercise 3.2 ------------------------------------------------------------------------------

def test_wait_for_callback_accepts_solution(capsys):
    assert run(check_wait_for_callback, solution.wait_for_callback) is True
    assert "✅ Exercise 3.2" in capsys.readouterr().out


def test_wait_for_callback_template_is_not_done(capsys):
    async def wait_for_callback(subscribe):
        raise NotImplementedError

    assert run(check_wait_for_callback, wait_for_callback) is False
    assert "not done yet" in capsys.readouterr().out


def test_wait_for_callback_rejects_polling(capsys):
    async def wait_for_callback(subscribe):
        box = []
        subscribe(box.append)
        while not box:
            await asyncio.sleep(0)
        return box[0]

    assert run(check_wait_for_callback, wait_for_callback) is False
    assert "no polling" in capsys.readouterr().out


def test_wait_for_callback_rejects_a_long_sleep(capsys):
    async def wait_for_callback(subscribe):
        box = []
        subscribe(box.append)
        await asyncio.sleep(4 * UNIT)
        return box[0]

    assert run(check_wait_for_callback, wait_for_callback) is False
    assert "as soon as the callback has run" in capsys.readouterr().out


def test_wait_for_callback_rejects_a_guessed_sleep(capsys):
    async def wait_for_callback(subscribe):
        box = []
        subscribe(box.append)
        await asyncio.sleep(2 * UNIT)
        return box[0]  # the callback comes after 2 to 3 units: usually still empty

    assert run(check_wait_for_callback, wait_for_callback) is False


def test_wait_for_callback_rejects_a_guessed_sleep_that_a_stall_makes_lucky(capsys):
    # What a busy machine does (seen under make load): the loop stalls, and then runs the
    # guess's timer and the callback's (due at 2 to 3 units) in one pass, sleep first.  The
    # stall begins before either is due and ends after both, so this holds under any load.
    async def wait_for_callback(subscribe):
        box = []
        subscribe(box.append)
        asyncio.get_running_loop().call_soon(time.sleep, 3.1 * UNIT)
        await asyncio.sleep(1.9 * UNIT)
        return box[0]  # filled: the callback ran before this task resumed

    assert run(check_wait_for_callback, wait_for_callback) is False
    assert "returns because the callback ran" in capsys.readouterr().out


# --- Exercise 3.3 ------------------------------------------------------------------------------

def test_fire_accepts_solution(capsys):
    assert run(check_fire, solution.fire) is True
    assert "✅ Exercise 3.3" in capsys.readouterr().out


def test_fire_template_is_not_done(capsys):
    def fire(coro, running):
        raise NotImplementedError

    assert run(check_fire, fire) is False
    out = capsys.readouterr().out
    assert "not done yet" in out


def test_fire_rejects_tasks_without_references(capsys):
    def fire(coro, running):
        return asyncio.create_task(coro)

    assert run(check_fire, fire) is False
    out = capsys.readouterr().out
    assert "the set holds the 3 tasks" in out
    assert "3 of 3 tasks were destroyed while pending" in out


def test_fire_rejects_a_set_that_never_empties(capsys):
    def fire(coro, running):
        task = asyncio.create_task(coro)
        running.add(task)
        return task

    assert run(check_fire, fire) is False
    assert "3 finished task(s) still in the set" in capsys.readouterr().out
