"""Checks for notebook 19 (from 2017 to today).

    from aiocourse.checks.from_2017_to_today import check_port_s3
    await check_port_s3(main)   # prints feedback, returns True or False

Exercise 19.1 hands the answer the post's ``task(x)``, logged (the referee's EventLog), and
reads from the log what started, ended or was cancelled, in which order; "about 2 units" is
the referee's beat's verdict.  Exercise 19.2 runs the answer's script for real and presses a
real Ctrl+C on it, then reads the transcript.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from ..exercises import Exercise, NotDone
from ..scripts import run_script
from . import UNIT
from .referee import EventLog, units

__all__ = ["UNIT", "check_port_s3", "check_port_ctrl_c"]


def _post_task(log: EventLog, fail: set[int] = frozenset()):
    """The post's ``task(x)``, logged: sleeps x units and returns ``'Done after {x}s'``, or
    raises for an x in ``fail``.  The log gets "start", "end", "error" and "cancelled"."""

    async def task(x: int) -> str:
        log.record("start", x)
        try:
            await asyncio.sleep(x * UNIT)
        except asyncio.CancelledError:
            log.record("cancelled", x)
            raise
        if x in fail:
            log.record("error", x)
            raise ValueError(f"task {x} failed")
        log.record("end", x)
        return f"Done after {x}s"

    return task


def _flat(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [e for sub in exc.exceptions for e in _flat(sub)]
    return [exc]


async def check_port_s3(answer: Callable[..., Any]) -> bool:
    """Exercise 19.1: ``await answer(task)`` runs ``task(1)``, ``task(2)``, ``task(2)`` at once in
    a TaskGroup and returns their results in that order; when one fails, the others are
    cancelled and the failure comes out of ``answer``."""
    ex = Exercise("19.1", "port S3 to a TaskGroup")
    wanted = ["Done after 1s", "Done after 2s", "Done after 2s"]
    async with ex.attempt():
        log = EventLog(t0=ex.ref.log.t0)
        result, run = await ex.timed(answer(_post_task(log)), timeout=2)
        ex.expect(result == wanted, f"returns {wanted}", got=result,
                  hint="keep the tasks tg.create_task returns; after the `async with` block, "
                       "[t.result() for t in tasks]")
        starts, ends = log.of("start"), log.of("end", "error", "cancelled")
        ex.expect(len(starts) == 3 and (not ends or starts[-1].t < ends[0].t),
                  "starts the three tasks at once (all before the first one ends)",
                  got=f"{len(starts)} started, in this order: "
                      + ", ".join(f"{e.what} {e.key}" for e in log.of()))
        ex.expect(not ex.slow(run, 2), "takes about 2 units, not 1 + 2 + 2",
                  got=units(run.took))

        failing = EventLog(t0=ex.ref.log.t0)
        coro = answer(_post_task(failing, fail={1}))
        start = ex.ref.now()
        raised: list[BaseException] = []
        outcome = None
        try:
            async with asyncio.timeout(2):
                outcome = await coro
        except TimeoutError:
            ex.expect(False, "to finish within 2 s when task(1) fails", got="still running",
                      stop=True)
        except Exception as exc:  # the failure we want to see come out
            raised = _flat(exc)
        ended = ex.ref.now()
        ex.expect(any(isinstance(e, ValueError) for e in raised),
                  "when task(1) raises ValueError, the error comes out of your function "
                  "(alone or in an ExceptionGroup)",
                  got=f"returned {outcome!r}" if not raised else
                  f"raised {[type(e).__name__ for e in raised]}",
                  hint="do not catch it: a TaskGroup re-raises it in an ExceptionGroup")
        cancelled, running = len(failing.of("cancelled")), len(failing.running())
        ex.expect(cancelled == 2 and running == 0,
                  "the two other tasks are cancelled when task(1) fails",
                  got=f"{cancelled} cancelled, {running} still running",
                  hint="asyncio.gather lets them run on; a TaskGroup cancels them for you")
        ex.expect(not failing.of("end") and not ex.ref.since(start, ended, 1),
                  "returns at the failure (about 1 unit)", got=units(ended - start))
    return ex.report()


_CANCELLED = re.compile(r"Cancelled:\s*(\d+)")
# Three "Waiting"s, however printed (possessive: the search stays linear in a long output).
_THIRD_WAITING = re.compile(r"(?s)(?:Waiting(?:(?!Waiting).)*+){2}Waiting")


async def check_port_ctrl_c(answer: Callable[[], str]) -> bool:
    """Exercise 19.2: ``answer()`` returns the source of a script: the post's S7 ported to
    ``asyncio.run``.  Run with DeprecationWarnings as errors, it ends by itself when nobody
    presses Ctrl+C; with a real Ctrl+C it cancels every task, prints ``Interrupted`` and exits
    with code 0, with no traceback and no "Task was destroyed"."""
    ex = Exercise("19.2", "port S7 (Ctrl+C) to asyncio.run")
    env = {"PYTHONWARNINGS": "error::DeprecationWarning"}  # what 3.14 makes an error anyway
    async with ex.attempt():
        source = ex.call(answer)
        if source is None:
            raise NotDone
        ex.expect(isinstance(source, str), "returns the script's source, a str",
                  got=type(source).__name__, stop=True)
        ex.expect("asyncio.run(" in source, "the script calls asyncio.run(...)",
                  got="no asyncio.run( in the source",
                  hint="asyncio.run(main()) under `if __name__ == \"__main__\":`")
        quiet = await asyncio.to_thread(run_script, source, timeout=5, env=env)
        ex.expect(quiet.returncode == 0 and not quiet.timed_out,
                  "without Ctrl+C it ends by itself with exit code 0", got=quiet.status,
                  hint=quiet.output.strip().splitlines()[-1] if quiet.output.strip() else None)
        ex.expect("Interrupted" not in quiet.output and not _CANCELLED.search(quiet.output),
                  "without Ctrl+C nothing is cancelled and it does not print Interrupted",
                  got=quiet.output.strip())
        # Ctrl+C as soon as the third task has said Waiting: the first ends one unit after it
        # started, and under load half a unit of waiting here was not always enough.
        run = await asyncio.to_thread(run_script, source, interrupt_on=_THIRD_WAITING,
                                      timeout=5, env=env)
        out = run.output
        ex.expect(run.interrupted, "each task prints 'Waiting: ...' (the check presses "
                  "Ctrl+C after the third)", got=out.strip() or run.status, stop=True)
        ex.expect(sorted(int(n) for n in _CANCELLED.findall(out)) == [1, 2, 3],
                  "with Ctrl+C each task prints 'Cancelled: <x>' once (x = 1, 2, 3)",
                  got=out.strip(), hint="keep the task coroutine of the exercise; run the "
                  "tasks in a TaskGroup (or gather) inside main()")
        ex.expect("Interrupted" in out and run.returncode == 0,
                  "then it prints 'Interrupted' and exits with code 0",
                  got=run.status, hint="try: asyncio.run(main()) except KeyboardInterrupt: "
                                       "print('Interrupted')")
        ex.expect("Traceback" not in out, "no traceback", got=out.strip())
        ex.expect("Task was destroyed" not in out, "no 'Task was destroyed but it is pending!'",
                  got=out.strip())
    return ex.report()
