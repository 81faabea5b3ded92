"""Checks for notebook 01 (asyncio inside Jupyter).

    from aiocourse.checks.asyncio_in_jupyter import check_in_a_cell, check_script
    await check_in_a_cell(cell)      # Exercise 1.1
    await check_script(SCRIPT)       # Exercise 1.2

Each check runs the learner's answer with helpers of its own, prints what is right and what is
not, and returns True or False.  No time is judged: only where and how the work ran.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from ..exercises import Exercise, NotDone
from ..scripts import run_script
from . import UNIT

__all__ = ["UNIT", "check_in_a_cell", "check_script"]


# --- Exercise 1.1 ------------------------------------------------------------------------------


async def check_in_a_cell(cell: Callable[..., Coroutine[Any, Any, list]]) -> bool:
    """Exercise 1.1: ``cell(do_some_work)`` does in a cell what the seed's script does with
    ``loop.run_until_complete``: runs ``do_some_work(1)``, then ``do_some_work(2)``, and returns
    their two results.  They must run on the loop that runs the cell, in its thread."""
    ex = Exercise("1.1", "the seed's code in a cell")
    ran: list[tuple[asyncio.AbstractEventLoop, str]] = []
    made: list[Coroutine] = []

    async def _work(x: int) -> str:
        ran.append((asyncio.get_running_loop(), threading.current_thread().name))
        await asyncio.sleep(x * UNIT)
        return f"Done after {x} units"

    def do_some_work(x: int) -> Coroutine:
        coro = _work(x)
        made.append(coro)
        return coro

    try:
        async with ex.attempt():
            try:
                result = await ex.run(cell(do_some_work), timeout=2)
            except RuntimeError as exc:
                if isinstance(exc, NotImplementedError):
                    raise
                ex.expect(False, "runs without starting a loop of its own",
                          got=f"RuntimeError: {exc}",
                          hint="the cell's loop is already running: `await do_some_work(1)` "
                               "instead of loop.run_until_complete(...) or asyncio.run(...)",
                          stop=True)
            wanted = ["Done after 1 units", "Done after 2 units"]
            ex.expect(result == wanted, f"returns {wanted}", got=result,
                      hint="`await` each call: calling do_some_work(1) alone only makes a "
                           "coroutine object")
            here = (asyncio.get_running_loop(), threading.current_thread().name)
            ex.expect(len(ran) == 2 and all(r == here for r in ran),
                      "runs both on the loop that runs the cell, in its thread",
                      got=f"{len(ran)} call(s), {sum(r != here for r in ran)} elsewhere",
                      hint="no new loop and no thread: `await` is all a cell needs")
    finally:
        for coro in made:
            if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
                coro.close()  # one the answer never awaited: no "never awaited" warning later
    return ex.report()


# --- Exercise 1.2 ------------------------------------------------------------------------------

# Runs the answer twice in one child process, as Python would: imported (``import learner``)
# and as a script (``runpy``, which is what ``python learner.py`` does), counting asyncio.run().
_HARNESS = '''
import asyncio
import pathlib
import runpy

pathlib.Path("learner.py").write_text(SOURCE, encoding="utf-8")
runs = []
real_run = asyncio.run


def counted_run(*args, **kwargs):
    runs.append(1)
    return real_run(*args, **kwargs)


asyncio.run = counted_run
print("@@import")
import learner  # noqa: E402,F401
print(f"@@runs {len(runs)}")
print("@@script")
runpy.run_path("learner.py", run_name="__main__")
print(f"@@runs {len(runs)}")
print("@@end")
'''

_MARKS = re.compile(r"^@@(import|script|runs \d+|end)$", re.M)


def _phases(output: str) -> dict[str, Any]:
    """What the harness printed, cut at its marks: the two runs' output and asyncio.run counts."""
    found: dict[str, Any] = {"import": None, "script": None, "runs": [], "end": False}
    parts = _MARKS.split(output)
    # parts: text before the first mark, then (mark, text after it) pairs
    for mark, text in zip(parts[1::2], parts[2::2], strict=True):
        if mark in ("import", "script"):
            found[mark] = text.strip("\n")
        elif mark.startswith("runs"):
            found["runs"].append(int(mark.split()[1]))
        else:
            found["end"] = True
    return found


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(nothing)"


async def check_script(source: str) -> bool:
    """Exercise 1.2: ``source`` is a whole script that runs ``main()`` with ``asyncio.run()``
    under ``if __name__ == "__main__":`` and prints what it returns.  It is run for real in a
    child process: imported (it must run nothing) and as a script."""
    ex = Exercise("1.2", "the same code as a script")
    with ex.check():
        if not isinstance(source, str):
            ex.expect(False, "SCRIPT is the script's text (a str)", got=type(source).__name__,
                      stop=True)
        harness = f"SOURCE = {source!r}\n" + _HARNESS
        run = await asyncio.to_thread(run_script, harness, timeout=20)
        found = _phases(run.output)
        if "NotImplementedError" in (found["import"] or ""):
            raise NotDone
        if "SyntaxError" in run.output:
            ex.expect(False, "a script Python can run", got=_last_line(run.output),
                      hint="`await` outside an `async def` works only in a cell: in a script, "
                           "print(asyncio.run(main()))", stop=True)
        imported_runs = found["runs"][0] if found["runs"] else None
        ex.expect(found["import"] == "" and imported_runs == 0,
                  "importing the script runs nothing (no asyncio.run, no output)",
                  got=_last_line(found["import"]) if found["import"] else
                  f"asyncio.run() called {imported_runs} time(s)",
                  hint='start main() under `if __name__ == "__main__":`, so that another '
                       "program can import the script without running it")
        script_runs = found["runs"][1] if len(found["runs"]) > 1 else None
        ex.expect(found["end"] and script_runs == 1,
                  "run as a script, it starts main() with asyncio.run(), once",
                  got=_last_line(found["script"]) if not found["end"] else
                  f"asyncio.run() called {script_runs} time(s)",
                  hint="asyncio.run(main()) makes a loop, runs main() on it and closes it: "
                       "the script way (get_event_loop() raises on Python 3.14)")
        ex.expect(found["script"] == "main is done",
                  "run as a script, it prints what main() returns: main is done",
                  got=found["script"] if found["script"] else "(nothing)",
                  hint="print(asyncio.run(main()))")
    return ex.report()
