"""The exercise machinery: feedback, True/False, nothing left running, misuse."""

from __future__ import annotations

import asyncio

import pytest

from aiocourse.exercises import Exercise


async def check_double(answer) -> bool:
    ex = Exercise("0.1", "double a number later")
    async with ex.attempt():
        got = await ex.run(answer(21), timeout=0.5)
        ex.expect(got == 42, "returns 42 for 21", got=got, hint="multiply by two")
    return ex.report()


async def right(x):
    await asyncio.sleep(0)
    return 2 * x


async def wrong(x):
    return x + 2


async def not_done(x):
    raise NotImplementedError


async def crashes(x):
    raise ZeroDivisionError("division by zero")


async def hangs(x):
    await asyncio.Event().wait()


def sync_answer(x):
    return 2 * x


@pytest.mark.parametrize(("answer", "ok", "shown"), [
    (right, True, "✅ Exercise 0.1 (double a number later): passed. returns 42 for 21."),
    (wrong, False, "❌ Exercise 0.1 (double a number later): not yet.\n"
                   "  - expected: returns 42 for 21\n     got: 23\n    hint: multiply by two"),
    (not_done, False, "⏳ Exercise 0.1 (double a number later): not done yet."),
    (crashes, False, "❌ Exercise 0.1 (double a number later): your code raised "
                     "ZeroDivisionError: division by zero"),
    (hangs, False, "expected: to finish within 0.5 s"),
    (sync_answer, False, "expected: an async function (defined with `async def`)"),
])
def test_feedback_and_result(capsys, answer, ok, shown):
    assert asyncio.run(check_double(answer)) is ok
    assert shown in capsys.readouterr().out


def test_tasks_left_by_an_answer_are_cancelled(capsys):
    started = []

    async def leaky(x):
        started.append(asyncio.create_task(asyncio.sleep(60), name="leak"))
        return 2 * x

    async def main():
        before = len(asyncio.all_tasks())
        assert await check_double(leaky)
        assert started[0].cancelled()
        assert len(asyncio.all_tasks()) == before

    asyncio.run(main())


def test_sync_checks():
    ex = Exercise("0.2", "sync")
    with ex.check():
        ex.expect(ex.call(lambda: 1) == 1, "returns 1")
    assert ex.passed
    ex2 = Exercise("0.3", "sync not done")
    with ex2.check():
        ex2.call(lambda: (_ for _ in ()).throw(NotImplementedError))
    assert not ex2.passed


def test_misuse():
    with pytest.raises(TypeError, match="non-empty string"):
        Exercise(3, "x")  # type: ignore[arg-type]
    ex = Exercise("0.4", "x")
    assert ex.report() is True
    with pytest.raises(RuntimeError, match="already reported"):
        ex.report()

    async def twice():
        ex = Exercise("0.5", "x")
        async with ex.attempt():
            pass
        with pytest.raises(RuntimeError, match="already attempted"):
            async with ex.attempt():
                pass

    asyncio.run(twice())


def test_script_holds_the_answers_source(capsys):
    async def check(answer) -> bool:
        ex = Exercise("0.2", "a script of the answer")
        async with ex.attempt():
            script = ex.script(answer, "{source}\nprint({name}.__name__, {unit})", unit=3)
            ex.expect(script.startswith("async def right(x):") and
                      script.endswith("print(right.__name__, 3)"), "the script", got=script)
        return ex.report()

    assert asyncio.run(check(right))
    assert not asyncio.run(check(lambda x: x))
    assert "an async function (defined with `async def`)" in capsys.readouterr().out
    namespace: dict = {}
    exec("async def made_by_exec():\n    pass\n", namespace)  # no source file to read
    assert not asyncio.run(check(namespace["made_by_exec"]))
    out = capsys.readouterr().out
    assert "a function whose source can be read" in out and "define it with `async def`" in out
