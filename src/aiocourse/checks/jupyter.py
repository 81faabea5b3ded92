"""Checks for notebook 01 (asyncio inside Jupyter).

    from aiocourse.checks.jupyter import check_finish_in_cell, check_run_sync
    await check_finish_in_cell(cell)   # Exercise 1.1
    await check_run_sync(run_sync)     # Exercise 1.2

Each check runs the learner's answer with helpers of its own, prints what is right and what is
not, and returns True or False.  Times are in units of ``UNIT`` seconds.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from ..exercises import Exercise
from . import UNIT

__all__ = ["UNIT", "report", "check_finish_in_cell", "check_run_sync"]


async def report(name: str, units: int) -> str:
    """The job of Exercise 1.1: waits ``units`` and returns ``"<name> after <units>"``."""
    await asyncio.sleep(units * UNIT)
    return f"{name} after {units}"


async def check_finish_in_cell(cell: Callable[..., Coroutine[Any, Any, list]]) -> bool:
    """Exercise 1.1: ``cell(report)`` starts two reports as tasks and waits for both.

    ``report("a", 2)`` and ``report("b", 3)`` must run at the same time (3 units, not 5), be
    finished when ``cell`` returns (nothing left running to print after the cell has ended), and
    their results come back in order.
    """
    ex = Exercise("1.1", "background tasks that finish inside the cell")
    async with ex.attempt():
        result = await ex.run(cell(report), timeout=2)
        left = [t for t in asyncio.all_tasks()
                if getattr(t.get_coro(), "cr_code", None) is report.__code__ and not t.done()]
        ex.expect(not left, "every task you started has finished when cell() returns",
                  got=f"{len(left)} report task(s) still running",
                  hint="await each task before returning: a task left running prints into "
                       "the cell that started it after that cell has ended, or nowhere")
        wanted = ["a after 2", "b after 3"]
        ex.expect(result == wanted, f"returns {wanted}", got=result,
                  hint="keep both tasks in variables, then `await` each one and return "
                       "their results")
    tl = ex.timeline
    if tl is not None and ex.passed:
        ex.expect(tl.max_concurrency() >= 2, "the two reports run as tasks at the same time",
                  got=f"at most {tl.max_concurrency()} task(s) at once",
                  hint="create both tasks first, then await them")
        ex.expect(tl.duration < 4 * UNIT, "takes about 3 units (the longer report), not 5",
                  got=f"{tl.duration / UNIT:.0f} units")
    return ex.report()


async def _later(value: str) -> str:
    await asyncio.sleep(UNIT)
    return value


async def check_run_sync(run_sync: Callable[[Coroutine], Any]) -> bool:
    """Exercise 1.2: ``run_sync(coro)`` returns the coroutine's result, from any plain code.

    It is called twice: where a loop is already running (like a notebook cell) and in a thread
    where none runs (like a script).  Both calls must return the result; asyncio must not be
    patched (nest_asyncio) on the way.
    """
    ex = Exercise("1.2", "run a coroutine from plain code, in a cell and in a script")
    made: list[Coroutine] = []

    def later(value: str) -> Coroutine:
        coro = _later(value)
        made.append(coro)
        return coro

    try:
        async with ex.attempt():
            if not callable(run_sync):
                ex.expect(False, "run_sync is a function", got=type(run_sync).__name__,
                          stop=True)
            if inspect.iscoroutinefunction(run_sync):
                ex.expect(False, "run_sync is a plain function (`def`, not `async def`)",
                          got="an async function", stop=True,
                          hint="plain code cannot await: that is the point of run_sync")
            try:
                got = run_sync(later("from a cell"))
            except NotImplementedError:  # a RuntimeError too: the template, "not done yet"
                raise
            except RuntimeError as exc:
                got = f"RuntimeError: {exc}"
            ex.expect(got == "from a cell",
                      "works where a loop is already running (a notebook cell)", got=got,
                      hint="this thread's loop is busy running your caller: run the coroutine "
                           "with asyncio.run in another thread (ThreadPoolExecutor(1))")
            try:
                got = await asyncio.to_thread(run_sync, later("from a script"))
            except NotImplementedError:
                raise
            except RuntimeError as exc:
                got = f"RuntimeError: {exc}"
            ex.expect(got == "from a script",
                      "works where no loop is running (a script, a plain thread)", got=got,
                      hint="with no loop running, asyncio.run(coro) is all it takes")
            ex.expect(not hasattr(asyncio, "_nest_patched"), "leaves asyncio unpatched",
                      got="nest_asyncio.apply() was called",
                      hint="nest_asyncio patches the whole kernel: restart it (Kernel > "
                           "Restart) and solve this without it")
    finally:
        for coro in made:
            coro.close()  # one the answer never ran: no "never awaited" warning later
    return ex.report()
