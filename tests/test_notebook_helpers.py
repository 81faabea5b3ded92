"""aiocourse.notebook: set-up line, warnings shown in place, our tasks vs the kernel's."""

from __future__ import annotations

import asyncio

from aiocourse.notebook import caught_warnings, our_tasks, setup


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
