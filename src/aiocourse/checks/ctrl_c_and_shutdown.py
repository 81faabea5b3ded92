"""Checks for notebook 08 (Ctrl+C and shutdown).

    from aiocourse.checks.ctrl_c_and_shutdown import check_graceful_service
    await check_graceful_service(graceful_service)   # prints feedback, returns True or False

Exercise 8.1 runs the answer as a real script and presses Ctrl+C on it (a real SIGINT, sent by
the script to itself one unit into job "b", so that it lands there however loaded the machine
is); the check reads the transcript: what started and finished, in which order.  Exercise 8.2
gives the answer real tasks of the check's own and looks at their states.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ..exercises import Exercise, NotDone
from ..scripts import run_script, trimmed
from . import UNIT

__all__ = ["UNIT", "check_graceful_service", "check_stop_jobs"]


# The service exercise runs the learner's function in a fresh Python, as `python service.py`
# would, and presses Ctrl+C (a real SIGINT, sent by the script to itself so that it lands one
# unit into job "b" however loaded the machine is).
_SERVICE_HARNESS = '''
import asyncio
import os
import signal

{source}

UNIT = 0.05


async def handle(job):
    print("start", job)
    if job == "b":  # Ctrl+C, one unit into job b
        asyncio.get_running_loop().call_later(UNIT, os.kill, os.getpid(), signal.SIGINT)
    await asyncio.sleep(4 * UNIT)
    print("finish", job)


async def main():
    done = await {name}(["a", "b", "c", "d"], handle)
    print("returned", repr(done))


try:
    asyncio.run(main())
except KeyboardInterrupt:
    print("KeyboardInterrupt")
'''


async def check_graceful_service(answer: Callable[..., Any]) -> bool:
    """Exercise 8.1: ``await answer(jobs, handle)`` runs ``await handle(job)`` for each job in
    turn; on Ctrl+C it finishes the job in progress, starts no other, and returns the list of
    finished jobs.  It runs as a script in a child process that gets a real SIGINT."""
    ex = Exercise("8.1", "stop on Ctrl+C without losing the job in progress")
    async with ex.attempt():
        script = ex.script(answer, _SERVICE_HARNESS)
        # PYTHON_COLORS=0: no colour codes in tracebacks on 3.13, even under FORCE_COLOR=1.
        run = await asyncio.to_thread(run_script, script, timeout=5,
                                      env={"PYTHON_COLORS": "0"})
        lines = [line for line in trimmed(run).splitlines() if line.strip()]
        if "NotImplementedError" in run.output:
            raise NotDone
        shown = " | ".join(lines)
        ex.expect(not run.timed_out, "the script ends by itself within 5 s",
                  got=shown, stop=True)
        started = [line.split()[1] for line in lines if line.startswith("start ")]
        finished = [line.split()[1] for line in lines if line.startswith("finish ")]
        ex.expect(started[:2] == ["a", "b"], "jobs run one after another: a, then b",
                  got=shown, stop=True)
        ex.expect("b" in finished, "the job in progress at Ctrl+C (b) finishes", got=shown,
                  hint="under asyncio.run, Ctrl+C cancels your task: install your own handler "
                       "with loop.add_signal_handler(signal.SIGINT, stop.set) (stop = "
                       "asyncio.Event()) so that Ctrl+C only sets a flag")
        ex.expect(started == ["a", "b"], "no new job starts after Ctrl+C (c and d never start)",
                  got=shown, hint="check the flag before starting each job")
        ex.expect("returned ['a', 'b']" in lines, "returns the finished jobs: ['a', 'b']",
                  got=shown)
        ex.expect(run.returncode == 0 and "KeyboardInterrupt" not in run.output
                  and "Traceback" not in run.output,
                  "the script exits normally: exit code 0, no KeyboardInterrupt, no traceback",
                  got=shown)
    return ex.report()


async def _job(name: str, units: int, cleaned: list[str]) -> None:
    try:
        await asyncio.sleep(units * UNIT)
    finally:
        await asyncio.sleep(UNIT)  # cleanup takes a unit: waiting for it is part of stopping
        cleaned.append(name)


async def check_stop_jobs(answer: Callable[..., Any]) -> bool:
    """Exercise 8.2: ``await answer(tasks)`` cancels the tasks of the set whose name starts with
    ``"job"``, waits until they have ended, and returns how many ``cancel()`` calls succeeded;
    the other tasks of the set (not the learner's: think of the kernel's) keep running."""
    ex = Exercise("8.2", "stop your jobs, and only yours")
    cleaned: list[str] = []
    finished = asyncio.create_task(asyncio.sleep(0), name="job 0")
    await finished
    jobs = [asyncio.create_task(_job(f"job {i}", 40, cleaned), name=f"job {i}")
            for i in (1, 2, 3)]
    others = [asyncio.create_task(asyncio.sleep(40 * UNIT), name=name)
              for name in ("kernel: shell", "kernel: heartbeat")]
    started: list[asyncio.Task] = []
    try:
        async with ex.attempt():
            await asyncio.sleep(0)
            tasks = {finished, *jobs, *others}
            runner = asyncio.create_task(ex.coroutine(answer(tasks)), name="stop_jobs (you)")
            started.append(runner)
            tasks.add(runner)  # as in asyncio.all_tasks(): the caller's own task is there too
            how, value, _ = await ex.ref.outcome(runner, 20)
            ended = {t.get_name(): t.done() for t in jobs}
            asked = {t.get_name(): t.cancelled() or t.cancelling() > 0 for t in jobs}
            if how == "raised":
                raise value
            ex.expect(how != "cancelled" or runner.cancelling() > 0, "your function returns",
                      got="a CancelledError came out of it",
                      hint="awaiting a cancelled task (or a gather of them) raises "
                           "CancelledError: wait with `await asyncio.wait(jobs)`, which does "
                           "not raise", stop=True)
            ex.expect(how != "cancelled", "your function is not cancelled (its own task is in "
                      "the set too, and it is not a job)", got="it cancelled itself", stop=True)
            ex.expect(how == "returned", "returns within 20 units", got="still running",
                      stop=True)
            ex.expect(all(asked.values()), "jobs 1, 2 and 3 are cancelled",
                      got={name: "cancelled" if ok else "not cancelled"
                           for name, ok in asked.items()},
                      hint="pick the tasks with t.get_name().startswith('job') and call "
                           "t.cancel() on each")
            ex.expect(all(ended.values()) and len(cleaned) == 3,
                      "they have ended (cleanup included) when your function returns",
                      got=f"ended when you returned: {ended}",
                      hint="cancel() only asks: `await asyncio.wait(jobs)` (or gather with "
                           "return_exceptions=True) until they have stopped")
            ex.expect(value == 3, "returns 3: the cancel() calls that returned True (job 0 "
                      "had already finished)", got=value,
                      hint="cancel() returns False for a task that is already done")
            alive = {t.get_name(): "running" if not t.done() else "cancelled" for t in others}
            ex.expect(all(v == "running" for v in alive.values()),
                      "the other tasks keep running", got=alive,
                      hint="in a notebook those would be the kernel's own tasks: cancel only "
                           "what you created")
    finally:
        rest = [t for t in (*jobs, *others, *started) if not t.done()]
        for task in rest:
            task.cancel()
        if rest:
            await asyncio.wait(rest)
    return ex.report()


