"""The checks of notebook 01 accept the reference solutions and reject typical mistakes."""

import asyncio
import sys
import warnings

import pytest
from checks_support import load_solution

from aiocourse.checks.jupyter import check_finish_in_cell, check_run_sync

solution = load_solution("01_asyncio_in_jupyter")


def run(check, answer):
    return asyncio.run(check(answer))


# --- Exercise 1.1 ------------------------------------------------------------------------------

def test_finish_in_cell_accepts_solution(capsys):
    assert run(check_finish_in_cell, solution.cell) is True
    assert "✅ Exercise 1.1" in capsys.readouterr().out


def test_finish_in_cell_template_is_not_done(capsys):
    async def cell(report):
        raise NotImplementedError

    assert run(check_finish_in_cell, cell) is False
    assert "not done yet" in capsys.readouterr().out


def test_finish_in_cell_rejects_fire_and_forget(capsys):
    async def cell(report):
        asyncio.create_task(report("a", 2))
        asyncio.create_task(report("b", 3))

    assert run(check_finish_in_cell, cell) is False
    out = capsys.readouterr().out
    assert "2 report task(s) still running" in out


def test_finish_in_cell_rejects_sequential_awaits(capsys):
    async def cell(report):
        return [await report("a", 2), await report("b", 3)]

    assert run(check_finish_in_cell, cell) is False
    out = capsys.readouterr().out
    assert "at the same time" in out and "at most 0 task(s) at once" in out


def test_finish_in_cell_rejects_tasks_awaited_one_by_one(capsys):
    async def cell(report):
        a = await asyncio.create_task(report("a", 2))
        b = await asyncio.create_task(report("b", 3))
        return [a, b]

    assert run(check_finish_in_cell, cell) is False
    assert "takes about 3 units" in capsys.readouterr().out


# --- Exercise 1.2 ------------------------------------------------------------------------------

def test_run_sync_accepts_solution(capsys):
    assert run(check_run_sync, solution.run_sync) is True
    assert "✅ Exercise 1.2" in capsys.readouterr().out


def test_run_sync_template_is_not_done(capsys):
    def run_sync(coro):
        raise NotImplementedError

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the check closes the coroutine it passed
        assert run(check_run_sync, run_sync) is False
    assert "not done yet" in capsys.readouterr().out


def test_run_sync_rejects_asyncio_run_alone(capsys):
    def run_sync(coro):
        return asyncio.run(coro)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run(check_run_sync, run_sync) is False
    out = capsys.readouterr().out
    assert "asyncio.run() cannot be called from a running event loop" in out
    assert "already right: works where no loop is running" in out


def test_run_sync_rejects_run_until_complete(capsys):
    def run_sync(coro):
        return asyncio.get_event_loop().run_until_complete(coro)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # get_event_loop in a thread
        assert run(check_run_sync, run_sync) is False
    assert "This event loop is already running" in capsys.readouterr().out


def test_run_sync_rejects_async_def(capsys):
    async def run_sync(coro):
        return await coro

    assert run(check_run_sync, run_sync) is False
    assert "plain function" in capsys.readouterr().out


@pytest.mark.skipif("nest_asyncio" in sys.modules and hasattr(asyncio, "_nest_patched"),
                    reason="asyncio already patched in this process")
def test_run_sync_rejects_nest_asyncio(capsys):
    # Patching is process-wide and cannot be undone, so run it in a child process.
    import subprocess

    code = (
        "import asyncio, nest_asyncio\n"
        "from aiocourse.checks.jupyter import check_run_sync\n"
        "def run_sync(coro):\n"
        "    nest_asyncio.apply()\n"
        "    return asyncio.get_event_loop().run_until_complete(coro)\n"
        "async def main():\n"
        "    print(await check_run_sync(run_sync))\n"
        # printed inside the loop: on 3.14, nest_asyncio 1.6.0 then breaks asyncio.run's own
        # shutdown ("Timeout should be used inside a task"), which is not this test's business
        "asyncio.run(main())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30).stdout
    assert "leaves asyncio unpatched" in out
    assert out.rstrip().endswith("False")
