"""The checks of notebook 01 accept the reference solutions and reject typical mistakes."""

import asyncio
import warnings

from checks_support import load_solution

from aiocourse.checks.asyncio_in_jupyter import check_in_a_cell, check_script

solution = load_solution("01_asyncio_in_jupyter")


def run(check, answer):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a coroutine left unawaited would warn
        return asyncio.run(check(answer))


# --- Exercise 1.1 ------------------------------------------------------------------------------

def test_in_a_cell_accepts_solution(capsys):
    assert run(check_in_a_cell, solution.cell) is True
    assert "✅ Exercise 1.1" in capsys.readouterr().out


def test_in_a_cell_accepts_gather(capsys):
    async def cell(do_some_work):
        return await asyncio.gather(do_some_work(1), do_some_work(2))

    assert run(check_in_a_cell, cell) is True
    capsys.readouterr()


def test_in_a_cell_template_is_not_done(capsys):
    async def cell(do_some_work):
        raise NotImplementedError

    assert run(check_in_a_cell, cell) is False
    assert "not done yet" in capsys.readouterr().out


def test_in_a_cell_rejects_run_until_complete(capsys):
    async def cell(do_some_work):
        loop = asyncio.get_event_loop()
        return [loop.run_until_complete(do_some_work(1)), loop.run_until_complete(do_some_work(2))]

    assert run(check_in_a_cell, cell) is False
    out = capsys.readouterr().out
    assert "RuntimeError: This event loop is already running" in out and "await" in out


def test_in_a_cell_rejects_coroutines_never_awaited(capsys):
    async def cell(do_some_work):
        return [do_some_work(1), do_some_work(2)]

    assert run(check_in_a_cell, cell) is False  # and no "never awaited" warning: run() errors
    out = capsys.readouterr().out
    assert "returns ['Done after 1 units', 'Done after 2 units']" in out


def test_in_a_cell_rejects_a_loop_in_another_thread(capsys):
    async def cell(do_some_work):
        async def both():
            return [await do_some_work(1), await do_some_work(2)]
        return await asyncio.to_thread(asyncio.run, both())

    assert run(check_in_a_cell, cell) is False
    assert "2 elsewhere" in capsys.readouterr().out


def test_in_a_cell_rejects_a_plain_function(capsys):
    def cell(do_some_work):
        return ["Done after 1 units", "Done after 2 units"]

    assert run(check_in_a_cell, cell) is False
    assert "an async function" in capsys.readouterr().out


# --- Exercise 1.2 ------------------------------------------------------------------------------

MAIN = '''
import asyncio


async def main():
    await asyncio.sleep(0.05)
    return "main is done"

'''


def test_script_accepts_solution(capsys):
    assert run(check_script, solution.SCRIPT) is True
    assert "✅ Exercise 1.2" in capsys.readouterr().out


def test_script_template_is_not_done(capsys):
    template = MAIN + "raise NotImplementedError  # replace this line\n"
    assert run(check_script, template) is False
    assert "not done yet" in capsys.readouterr().out


def test_script_rejects_top_level_await(capsys):
    assert run(check_script, MAIN + "print(await main())\n") is False
    out = capsys.readouterr().out
    assert "a script Python can run" in out and "'await' outside function" in out


def test_script_rejects_a_run_without_the_main_guard(capsys):
    assert run(check_script, MAIN + "print(asyncio.run(main()))\n") is False
    out = capsys.readouterr().out
    assert "importing the script runs nothing" in out and "got: main is done" in out
    assert "already right" in out and "prints what main() returns" in out


def test_script_rejects_run_until_complete(capsys):
    source = MAIN + ('if __name__ == "__main__":\n'
                     '    print(asyncio.new_event_loop().run_until_complete(main()))\n')
    assert run(check_script, source) is False
    assert "asyncio.run() called 0 time(s)" in capsys.readouterr().out


def test_script_rejects_not_printing(capsys):
    source = MAIN + 'if __name__ == "__main__":\n    asyncio.run(main())\n'
    assert run(check_script, source) is False
    assert "got: (nothing)" in capsys.readouterr().out


def test_script_rejects_a_non_string(capsys):
    assert run(check_script, 42) is False
    assert "got: int" in capsys.readouterr().out
