"""aiocourse.notebook: set-up line, warnings shown in place, our tasks vs the kernel's."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from aiocourse.notebook import caught_log, caught_warnings, our_tasks, setup


def test_setup_outside_and_inside_a_loop(capsys):
    setup()
    assert "no running event loop" in capsys.readouterr().out

    async def main():
        setup()

    asyncio.run(main())
    assert "top-level await works" in capsys.readouterr().out


def test_never_awaited_warning_is_shown_in_the_block(capsys):
    async def main():
        with caught_warnings() as lines:
            coro = asyncio.sleep(0)
            del coro
        return lines

    lines = asyncio.run(main())
    assert lines == ["RuntimeWarning: coroutine 'sleep' was never awaited"]
    assert capsys.readouterr().out == lines[0] + "\n"


def test_our_tasks_excludes_current_task():
    async def main():
        t = asyncio.create_task(asyncio.sleep(0.01), name="mine")
        found = our_tasks()
        await t
        return found

    assert [t.get_name() for t in asyncio.run(main())] == ["mine"]


def test_our_tasks_keeps_cell_code_and_drops_kernel_code():
    # A cell's code lives in /tmp/ipykernel_<pid>/<hash>.py: "ipykernel" in a folder's name
    # must not hide it, while a coroutine of the ipykernel package itself is the kernel's.
    ns: dict = {}
    exec(compile("async def cell():\n    pass\n", "/tmp/ipykernel_123/456.py", "exec"), ns)
    exec(compile("async def kernel():\n    pass\n",
                 "/x/site-packages/ipykernel/kernelbase.py", "exec"), ns)

    async def main():
        a = asyncio.create_task(ns["cell"](), name="cell")
        b = asyncio.create_task(ns["kernel"](), name="kernel")
        found = [t.get_name() for t in our_tasks()]
        await asyncio.gather(a, b)
        return found

    assert asyncio.run(main()) == ["cell"]


def test_caught_log_keeps_records_from_any_thread_and_nothing_reaches_stderr(capsys):
    logger = logging.getLogger("asyncio")
    before = (list(logger.handlers), logger.propagate, logger.level)
    with caught_log("asyncio") as records:
        logger.warning("from %s", "here")
        thread = threading.Thread(target=logger.error, args=("from a thread",))
        thread.start()
        thread.join()
        logger.debug("not shown: the logger's level is left as it is")
    assert [(r.levelname, r.getMessage()) for r in records] == [
        ("WARNING", "from here"), ("ERROR", "from a thread")]
    assert capsys.readouterr().err == ""
    assert (list(logger.handlers), logger.propagate, logger.level) == before


def test_caught_log_restores_the_logger_when_the_block_raises():
    logger = logging.getLogger("asyncio")
    handlers = list(logger.handlers)
    with pytest.raises(KeyError), caught_log():
        {}["missing"]
    assert logger.handlers == handlers and logger.propagate


def test_caught_log_wants_a_logger_name():
    with pytest.raises(TypeError, match="takes a logger name, such as 'asyncio'"):
        with caught_log(logging.getLogger("asyncio")):
            pass
