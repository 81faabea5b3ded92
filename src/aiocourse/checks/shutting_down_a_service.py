"""Checks for notebook 09 (shutting down a real service).

    from aiocourse.checks.shutting_down_a_service import check_drain, check_service
    await check_drain(drain)        # prints feedback, returns True or False
    await check_service(serve)

Exercise 9.1 hands the answer jobs of the check's own (tasks that log when they start, end,
fail, are cancelled and have cleaned up) and judges the order of those events, with the
referee's beat for "not later than" (``checks.referee``).  Exercise 9.2 runs the answer as a
real service in a child process (``aiocourse.supervisor.Service``): the check sends it jobs on
its stdin and real SIGHUP and SIGTERM signals, each step once the service has answered the last,
then reads its transcript.
"""

from __future__ import annotations

import asyncio
import inspect
import signal
from collections.abc import Callable
from typing import Any

from ..exercises import Exercise, NotDone
from ..supervisor import Service
from . import UNIT
from .referee import Referee

__all__ = ["UNIT", "check_drain", "check_service"]


# --- Exercise 9.1 --------------------------------------------------------------------------


async def _job(ref: Referee, name: str, units: float, fails: bool) -> str:
    ref.log.record("start", name)
    try:
        await asyncio.sleep(units * UNIT)
    except asyncio.CancelledError:
        ref.log.record("cancelled", name)
        await asyncio.sleep(UNIT)  # its cleanup takes a unit: putting the job back, say
        ref.log.record("cleaned", name)
        raise
    if fails:
        ref.log.record("error", name)
        raise ValueError(f"{name}: bad input")
    ref.log.record("end", name)
    return name


def _start(ref: Referee, lengths: dict[str, float], fails: tuple[str, ...] = ()) -> dict:
    return {name: asyncio.create_task(_job(ref, name, units, name in fails), name=name)
            for name, units in lengths.items()}


async def _settle(tasks) -> None:
    """Let the check's jobs end (cancelled if need be) and read their outcomes, so that nothing
    outlives the check and asyncio never logs an exception nobody retrieved."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=2)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()


def _names(ex: Exercise, result: Any, jobs: dict) -> set[str]:
    if not isinstance(result, set | frozenset | list | tuple):
        ex.expect(False, "returns a set of tasks", got=type(result).__name__,
                  hint="collect the tasks you cancelled in a set, e.g. the `pending` set of "
                       "`asyncio.wait(...)`, and return it", stop=True)
    if not all(any(item is task for task in jobs.values()) for item in result):
        ex.expect(False, "returns the tasks themselves (the ones it cancelled)", got=result,
                  hint="return the task objects, not their names or results", stop=True)
    return {task.get_name() for task in result}


async def check_drain(answer: Callable[..., Any]) -> bool:
    """Exercise 9.1: ``await answer(jobs, deadline)`` waits for the tasks of ``jobs`` until they
    have ended, ``deadline`` seconds at most; then it cancels those still running, waits until
    they have cleaned up, and returns the set of the tasks it cancelled."""
    ex = Exercise("9.1", "drain with a deadline")
    started: list[asyncio.Task] = []
    try:
        async with ex.attempt():
            if not inspect.iscoroutinefunction(answer):
                ex.expect(False, "an async function (defined with `async def`)",
                          got=type(answer).__name__, stop=True)
            # 1. Every job ends before the deadline: wait for them, not for the deadline.
            ref = Referee()
            jobs = _start(ref, {"job a": 1, "job b": 2})
            started += jobs.values()
            async with ref.beating():
                result, _ = await ref.run(ex, answer(set(jobs.values()), 4 * UNIT), timeout=3)
            names = _names(ex, result, jobs)
            ex.expect(not names, "cancels nothing when every job ends before the deadline",
                      got=f"it cancelled {sorted(names)}")
            ex.expect(not ref.late(ref.log.last("answer returned"), 2),
                      "returns as soon as the last job has ended (at 2 units, deadline 4)",
                      got=f"returned at {ref.in_units(ref.log.last('answer returned'))}",
                      hint="`asyncio.wait(jobs, timeout=deadline)` returns when they are all "
                           "done, or at the deadline, whichever comes first")

            # 2. Two jobs outlast the deadline, one fails before it.
            ref = Referee()
            jobs = _start(ref, {"job a": 1, "job b": 6, "job c": 8, "job d": 2},
                          fails=("job d",))
            started += jobs.values()
            async with ref.beating():
                try:
                    result, _ = await ref.run(ex, answer(set(jobs.values()), 3 * UNIT),
                                              timeout=3)
                except ValueError as exc:
                    ex.expect(False, "does not raise when a job has failed", got=repr(exc),
                              hint="asyncio.wait() leaves each outcome in its task; gather() "
                                   "raises the first error", stop=True)
            names = _names(ex, result, jobs)
            returned = ref.log.last("answer returned")
            cancelled = ref.log.times("cancelled")
            ex.expect(names == {"job b", "job c"}, "cancels the jobs still running at the "
                      "deadline (b and c, of 6 and 8 units; deadline 3) and returns them",
                      got=f"returned {sorted(names)}; cancelled {sorted(cancelled)}",
                      hint="after the wait, cancel every task of `pending`")
            early = sorted(n for n, t in cancelled.items() if ref.early(t, 3))
            ex.expect(not early, "lets the jobs run until the deadline (3 units)",
                      got=f"cancelled {early} before it")
            late = sorted(n for n, t in cancelled.items() if ref.late(t, 3))
            ex.expect(not late, "cancels them at the deadline, not later",
                      got=f"{late} cancelled at "
                          f"{', '.join(ref.in_units(cancelled[n]) for n in late)}")
            cleaned = ref.log.times("cleaned")
            ex.expect(all(n in cleaned and cleaned[n] < returned for n in ("job b", "job c")),
                      "returns only when the cancelled jobs have cleaned up (1 unit)",
                      got=f"cleaned up before it returned: "
                          f"{sorted(n for n, t in cleaned.items() if t < returned)}",
                      hint="cancel() only asks: `await asyncio.wait(pending)` after cancelling")
            ex.expect(jobs["job a"].done() and not jobs["job a"].cancelled(),
                      "leaves the job that ended in time alone", got="job a was cancelled")

            # 3. Nothing in flight.
            ref = Referee()
            async with ref.beating():
                try:
                    result, _ = await ref.run(ex, answer(set(), 4 * UNIT), timeout=3)
                except ValueError as exc:
                    ex.expect(False, "returns an empty set at once when no job is in flight",
                              got=repr(exc), hint="asyncio.wait() refuses an empty set: "
                              "return early when there is nothing to wait for", stop=True)
            ex.expect(result is not None and len(result) == 0 and not ref.late(
                ref.log.last("answer returned"), 0), "returns an empty set at once when no "
                "job is in flight", got=f"{result!r} at "
                f"{ref.in_units(ref.log.last('answer returned'))}")
    finally:
        await _settle(started)
    return ex.report()


# --- Exercise 9.2 --------------------------------------------------------------------------

SERVICE_UNIT = 0.05  # seconds: the course's unit; the check waits for lines, never for time

# The answer runs in a fresh Python, as `python service.py` would, with the check as its
# supervisor and its clients.  Jobs arrive as lines on stdin, only when the check sends them, and
# load_config() says what it read: so every step of the check waits for what the service printed
# and nothing depends on how fast this machine is.  After "d" no job ever comes: an answer that
# goes on waiting for next_job() after SIGTERM never ends.
_HARNESS = '''
import asyncio
import json
import signal
import sys

{source}

UNIT = {unit}
_lines = None


async def next_job():
    global _lines
    if _lines is None:
        _lines = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(_lines), sys.stdin)
    line = await _lines.readline()
    if not line:
        await asyncio.Event().wait()  # no job will ever come
    return line.decode().strip()


async def handle(job, config):
    print("start", job, "with version", config["version"])
    await asyncio.sleep(3 * UNIT)
    print("finish", job, "with version", config["version"])


def load_config():
    with open("config.json", encoding="utf-8") as f:
        text = f.read()
    try:
        config = json.loads(text)
    except ValueError:
        print("load_config: a broken file")
        raise
    print("load_config: version", config["version"])
    return config


async def main():
    count = await {name}(next_job, handle, load_config)
    print("returned", repr(count))


asyncio.run(main())
'''


async def _supervise(service: Service) -> None:
    """What the check does to the running service, each step after the service's answer to the
    last; it stops at the first answer that does not come, and the transcript tells the rest."""
    try:
        await service.wait_for("load_config: version 1", timeout=3)
        service.feed("a")
        service.feed("b")
        await service.wait_for("start b", timeout=3)
        service.write("config.json", '{"version": 2}')
        service.send(signal.SIGHUP)
        await service.wait_for("load_config: version 2", timeout=2)
        service.feed("c")
        await service.wait_for("start c", timeout=2)
        service.write("config.json", "{broken")
        service.send(signal.SIGHUP)
        await service.wait_for("load_config: a broken file", timeout=2)
        service.feed("d")
        await service.wait_for("start d", timeout=2)
        service.send(signal.SIGTERM)
    except (RuntimeError, TimeoutError):
        return


async def check_service(answer: Callable[..., Any]) -> bool:
    """Exercise 9.2: ``await answer(next_job, handle, load_config)`` runs a service: it takes
    jobs with ``await next_job()`` and runs ``handle(job, config)`` for each at the same time;
    SIGHUP reloads the config (a broken file keeps the old one), SIGTERM stops taking jobs,
    waits for the running ones and returns how many it started.  Real signals, in a child."""
    ex = Exercise("9.2", "a service that reloads and stops")
    async with ex.attempt():
        script = ex.script(answer, _HARNESS, unit=SERVICE_UNIT)
        async with Service(script, files={"config.json": '{"version": 1}'},
                           timeout=5) as service:
            await _supervise(service)
        run = service.transcript
        if "NotImplementedError" in run.output:
            raise NotDone
        lines = [line for line in run.output.splitlines() if line.strip()]
        # What the learner reads: the transcript without the inside of tracebacks.
        shown = " | ".join(line for line in lines[:60]
                           if not line.startswith(("  ", "Traceback")))
        starts = {line.split()[1]: line.split()[-1] for line in lines
                  if line.startswith("start ")}
        finishes = {line.split()[1]: line.split()[-1] for line in lines
                    if line.startswith("finish ")}
        ex.expect("a" in starts and "b" in starts, "it takes jobs and starts them: a, then b",
                  got=shown, hint="begin with config = load_config(), then take each job "
                  "with `await next_job()`", stop=True)
        first = {word: next((i for i, line in enumerate(lines) if line.startswith(word)),
                            len(lines)) for word in ("start b", "finish a")}
        ex.expect(first["start b"] < first["finish a"],
                  "jobs run at the same time: b starts before a has finished",
                  got=shown, hint="start each job as a task (keep the tasks in a set) "
                  "instead of awaiting handle() before taking the next job", stop=True)
        ex.expect("ended by signal SIGHUP" not in str(run), "SIGHUP does not end the service",
                  got=shown, hint="loop.add_signal_handler(signal.SIGHUP, reload): without a "
                  "handler, SIGHUP ends the process at once", stop=True)
        ex.expect(starts.get("a") == starts.get("b") == "1",
                  "jobs a and b, started before the first SIGHUP, use version 1", got=shown)
        ex.expect(starts.get("c") == "2" and starts.get("d") == "2",
                  "after SIGHUP, new jobs use the new config: c and d with version 2",
                  got=shown, hint="in the SIGHUP handler, call load_config() and keep its "
                  "result where the loop that starts jobs reads it")
        ex.expect("Traceback" not in run.output and "Exception in callback" not in run.output,
                  "a broken config.json (the second SIGHUP) keeps the old config, without an "
                  "error", got=shown, hint="catch the error of load_config() (a ValueError) "
                  "in the handler and keep the config you had")
        ex.expect("ended by signal SIGTERM" not in str(run), "SIGTERM does not end the "
                  "service at once", got=shown, hint="loop.add_signal_handler(signal.SIGTERM, "
                  "stop.set), with stop = asyncio.Event()", stop=True)
        ex.expect(not run.timed_out, "after SIGTERM it takes no new job and ends by itself "
                  "(no job comes after d)", got=shown,
                  hint="stop waiting for next_job() at once: cancel the task that waits for "
                       "it, rather than checking a flag after it returns", stop=True)
        ex.expect(all(job in finishes for job in starts),
                  "every job it started finishes before it returns",
                  got=f"started {sorted(starts)}, finished {sorted(finishes)}",
                  hint="after SIGTERM, `await asyncio.wait(running)` before returning")
        ex.expect(f"returned {len(starts)}" in lines,
                  f"returns the number of jobs it started ({len(starts)})", got=shown)
        ex.expect(run.returncode == 0 and "Task was destroyed" not in run.output,
                  "the service exits normally: exit code 0, nothing destroyed", got=shown)
    return ex.report()
