"""The checks of notebook 02 accept the reference solutions and reject typical mistakes."""

import asyncio
import warnings

from checks_support import load_solution

from aiocourse.checks.coroutines_and_the_event_loop import (
    UNIT,
    check_make_tea,
    check_take_turns,
)

solution = load_solution("02_coroutines_and_the_event_loop")


def run(check, answer):
    return asyncio.run(check(answer))


# --- Exercise 2.1 ------------------------------------------------------------------------------

def test_make_tea_accepts_solution(capsys):
    assert run(check_make_tea, solution.make_tea) is True
    assert "✅ Exercise 2.1" in capsys.readouterr().out


def test_make_tea_template_is_not_done(capsys):
    async def make_tea(step):
        raise NotImplementedError

    assert run(check_make_tea, make_tea) is False
    assert "not done yet" in capsys.readouterr().out


def test_make_tea_rejects_forgotten_await_without_a_stray_warning(capsys):
    async def make_tea(step):
        results = [step("boil", 2)]
        results.append(await step("steep", 1))
        results.append(await step("pour", 1))
        return results

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the check closes the coroutine: no RuntimeWarning
        assert run(check_make_tea, make_tea) is False
    out = capsys.readouterr().out
    assert "never awaited: step('boil', 2)" in out
    assert "a list with coroutine objects in it" in out


def test_make_tea_rejects_concurrent_steps(capsys):
    async def make_tea(step):
        return list(await asyncio.gather(step("boil", 2), step("steep", 1), step("pour", 1)))

    assert run(check_make_tea, make_tea) is False
    assert "each starts after the previous one has finished" in capsys.readouterr().out


def test_make_tea_rejects_wrong_order(capsys):
    async def make_tea(step):
        return [await step("steep", 1), await step("boil", 2), await step("pour", 1)]

    assert run(check_make_tea, make_tea) is False
    assert "not yet" in capsys.readouterr().out


# --- Exercise 2.2 ------------------------------------------------------------------------------

def test_take_turns_accepts_solution(capsys):
    assert run(check_take_turns, solution.worker) is True
    assert "✅ Exercise 2.2" in capsys.readouterr().out


def test_take_turns_template_is_not_done(capsys):
    async def worker(name, n, log):
        raise NotImplementedError

    assert run(check_take_turns, worker) is False
    assert "not done yet" in capsys.readouterr().out


def test_take_turns_rejects_worker_that_never_yields(capsys):
    async def worker(name, n, log):
        for i in range(n):
            log.append(f"{name}:{i}")

    assert run(check_take_turns, worker) is False
    assert "asyncio.sleep(0)` lets the loop run the other one" in capsys.readouterr().out


def test_take_turns_rejects_real_sleeps(capsys):
    async def worker(name, n, log):
        for i in range(n):
            log.append(f"{name}:{i}")
            await asyncio.sleep(UNIT)

    assert run(check_take_turns, worker) is False
    assert "takes no real time" in capsys.readouterr().out


def test_take_turns_rejects_plain_function(capsys):
    def worker(name, n, log):
        log.append(name)

    assert run(check_take_turns, worker) is False
    assert "async function" in capsys.readouterr().out
