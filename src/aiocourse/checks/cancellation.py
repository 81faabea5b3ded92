"""Checks for notebooks 06 (task states and cancellation) and 07 (Ctrl+C and shutdown).

    from aiocourse.checks.cancellation import check_fetch_or_none
    await check_fetch_or_none(fetch_or_none)   # prints feedback, returns True or False

The checks hand each answer fakes they wrote themselves (a connection, a database, jobs), so they
know when each read, save or cleanup started, ended or was cancelled, and compare that with what
the answer did.  Exercise 7.1 runs the answer as a real script and presses Ctrl+C on it.
``trimmed(run)`` shortens a script transcript to what reads the same on every Python version.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import re
import textwrap
import weakref
from collections.abc import Callable
from time import perf_counter
from typing import Any

from ..exercises import Exercise, NotDone
from ..notebook import caught_log
from ..scripts import ScriptRun, run_script
from . import SLACK, UNIT

__all__ = [
    "UNIT",
    "Connection",
    "Database",
    "check_fetch_or_none",
    "check_save_survives",
    "check_graceful_service",
    "check_stop_jobs",
    "trimmed",
]


def _units(t: float) -> str:
    return f"{t:.1f} units"


class _Clock:
    def __init__(self) -> None:
        self._t0 = perf_counter()

    def now(self) -> float:
        """Units since this object was created."""
        return (perf_counter() - self._t0) / UNIT


# --- notebook 06 ---------------------------------------------------------------------------


class Connection(_Clock):
    """A fake network connection: ``await conn.read()`` answers ``"data"`` after ``delay`` units;
    ``await conn.close()`` takes one unit (it says goodbye to the server).

        conn = Connection(2)
        await conn.read()     # 'data', 2 units later
        await conn.close()
        conn.read_state, conn.closed    # ('done', True)

    ``read_state`` is None, ``"running"``, ``"done"`` or ``"cancelled"``.
    """

    def __init__(self, delay: int) -> None:
        super().__init__()
        self.delay = delay
        self.read_state: str | None = None
        self.closed = False
        self.closed_at: float | None = None

    def __repr__(self) -> str:
        return f"<Connection read={self.read_state} closed={self.closed}>"

    async def read(self) -> str:
        if self.closed:
            raise ConnectionError("read() on a closed connection")
        self.read_state = "running"
        try:
            await asyncio.sleep(self.delay * UNIT)
        except asyncio.CancelledError:
            self.read_state = "cancelled"
            raise
        self.read_state = "done"
        return "data"

    async def close(self) -> None:
        await asyncio.sleep(UNIT)
        self.closed = True
        self.closed_at = self.now()


async def _outcome(task: asyncio.Task, timeout_units: float) -> tuple[str, Any, float]:
    """Wait for ``task``; return (how it ended, its result, when it ended in units from now)."""
    clock = _Clock()
    await asyncio.wait([task], timeout=timeout_units * UNIT)
    took = clock.now()
    if not task.done():
        return "running", None, took
    if task.cancelled():
        return "cancelled", None, took
    if task.exception() is not None:
        return "raised", task.exception(), took
    return "returned", task.result(), took


def _coroutine(ex: Exercise, made: Any) -> Any:
    if not asyncio.iscoroutine(made):
        ex.expect(False, "an async function (defined with `async def`)",
                  got=type(made).__name__, stop=True)
    return made


async def check_fetch_or_none(answer: Callable[..., Any]) -> bool:
    """Exercise 6.1: ``await answer(conn, limit)`` returns ``await conn.read()``, or None when
    the read takes longer than ``limit`` seconds; ``await conn.close()`` runs in every case, also
    when the call is cancelled from outside, and that cancellation goes on to the caller."""
    ex = Exercise("6.1", "add a timeout and clean up")
    async with ex.attempt():
        quick = Connection(1)
        result = await ex.run(answer(quick, 3 * UNIT), timeout=2)
        ex.expect(result == "data", "returns 'data' when the read is quick (1 unit, limit 3)",
                  got=result)
        ex.expect(quick.closed, "closes the connection after a quick read",
                  got="conn.closed is False", hint="`await conn.close()` in a `finally:` block "
                  "runs on every way out (close is a coroutine: await it)")

        slow = Connection(6)
        clock = _Clock()
        result = await ex.run(answer(slow, 2 * UNIT), timeout=2)
        took = clock.now()
        ex.expect(result is None, "returns None when the read takes longer than the limit "
                  "(6 units, limit 2)", got=result,
                  hint="`async with asyncio.timeout(limit):` around the read, and "
                       "`except TimeoutError: return None`")
        ex.expect(took < 3 + SLACK, "gives up at the limit: about 3 units (2, then 1 to close), "
                  "not 7", got=_units(took))
        ex.expect(slow.read_state == "cancelled", "the slow read is cancelled, not left running",
                  got=f"read is {slow.read_state}")
        ex.expect(slow.closed, "closes the connection after a timeout", got="conn.closed is False",
                  hint="put `await conn.close()` in a `finally:` block")

        third = Connection(6)
        task = asyncio.create_task(_coroutine(ex, answer(third, 4 * UNIT)), name="fetch_or_none")
        await asyncio.sleep(UNIT)
        task.cancel()
        how, value, took = await _outcome(task, 3)
        ex.expect(how == "cancelled", "when the caller cancels it (at 1 unit), the cancellation "
                  "goes on: the task ends cancelled",
                  got=f"it {how} {value!r}" if how != "running" else "still running",
                  hint="catch only TimeoutError; let CancelledError through (`finally:` cleans "
                       "up without stopping it)")
        ex.expect(third.closed, "closes the connection when cancelled from outside",
                  got="conn.closed is False", hint="`finally:` runs on cancellation too")
        ex.expect(took < 1 + SLACK, "stops at once: cancelled at 1 unit, done by 2 (1 to close)",
                  got=f"ended {took + 1:.1f} units after the start")
    return ex.report()


def _answer(reply: weakref.ref) -> None:
    future = reply()
    if future is not None and not future.done():
        future.set_result(None)


class Database(_Clock):
    """A fake database: ``await db.save(record)`` takes 3 units, then the record is in ``saved``.

    A save cancelled half-way is listed in ``cancelled`` and not saved.  The reply of the
    database arrives on a future that only the saving coroutine holds (its timer keeps a weak
    reference), so nothing but the program keeps the save's task alive, as with a task that
    waits on an Event nobody else refers to.  The loop keeps tasks only weakly: a save whose
    task nobody refers to is garbage-collected half-way, listed in ``lost``, and never saved.
    """

    def __init__(self, save_units: int = 3) -> None:
        super().__init__()
        self.save_units = save_units
        self.saved: list[Any] = []
        self.cancelled: list[Any] = []
        self.lost: list[Any] = []

    def __repr__(self) -> str:
        return f"<Database saved={self.saved} cancelled={self.cancelled} lost={self.lost}>"

    async def save(self, record: Any) -> None:
        loop = asyncio.get_running_loop()
        reply = loop.create_future()
        timer = loop.call_later(self.save_units * UNIT, _answer, weakref.ref(reply))
        try:
            await reply
        except asyncio.CancelledError:
            timer.cancel()
            self.cancelled.append(record)
            raise
        except GeneratorExit:  # the collector closes the coroutine of a task nobody held
            self.lost.append(record)
            raise
        self.saved.append(record)

    async def settled(self, record: Any, timeout_units: float) -> None:
        """Wait until the save of ``record`` has ended one way or the other (or time is up)."""
        deadline = self.now() + timeout_units
        while (record not in self.saved and record not in self.cancelled
               and record not in self.lost and self.now() < deadline):
            await asyncio.sleep(UNIT / 5)


async def check_save_survives(answer: Callable[..., Any]) -> bool:
    """Exercise 6.2: ``await answer(db, record)`` saves the record and returns ``"saved"``; when
    the call is cancelled, the save still completes, and the caller is cancelled at once.

    After the cancelled call has ended, the check drops it and collects garbage: the save's
    task survives only if the answer keeps a reference to it.  With
    ``await asyncio.shield(db.save(record))`` nothing does once the caller is gone (the shield
    lets go of the inner task when the caller is cancelled), and the save is lost.
    """
    ex = Exercise("6.2", "finish the save, release the caller")
    async with ex.attempt():
        db = Database()
        clock = _Clock()
        result = await ex.run(answer(db, "order 1"), timeout=2)
        took = clock.now()
        ex.expect(result == "saved", "returns 'saved'", got=result)
        ex.expect(db.saved == ["order 1"], "saves the record", got=f"db.saved == {db.saved}")
        ex.expect(took < 3 + SLACK, "takes about 3 units (one save)", got=_units(took))

        db = Database()
        # A task the answer leaves behind without a reference dies in the collector, and asyncio
        # then logs "Task was destroyed but it is pending!": kept here, not printed in red.
        with caught_log("asyncio"):
            task = asyncio.create_task(_coroutine(ex, answer(db, "order 2")),
                                       name="save_then_reply")
            await asyncio.sleep(UNIT)
            task.cancel()
            how, value, took = await _outcome(task, 4)
            ex.expect(how == "cancelled", "when the request is cancelled (at 1 unit), the "
                      "caller sees the cancellation: the task ends cancelled",
                      got=f"it {how} {value!r}" if how != "running" else "still running",
                      hint="don't catch CancelledError: `await asyncio.shield(...)` raises it "
                           "in the caller and leaves the inner work alone")
            ex.expect(how != "cancelled" or took < 1, "the caller is released at once (at 1 "
                      "unit), not when the save ends (3)", got=f"released at {took + 1:.1f} units",
                      hint="let the CancelledError out of `await asyncio.shield(...)` right away")
            # The caller's task is done: drop it (its error's traceback holds the answer's local
            # variables), then collect, as the interpreter may at any moment.
            del task, value
            gc.collect()
            await db.settled("order 2", 4)
        ex.expect("order 2" not in db.lost, "the save's task is kept alive until it ends (the "
                  "loop holds tasks only weakly)",
                  got="the save was garbage-collected half-way: nothing referred to its task "
                      "once the caller had gone",
                  hint="create the task yourself, `saving = asyncio.create_task(db.save(record))`, "
                       "keep it in a set at module level until it is done "
                       "(`saving.add_done_callback(that_set.discard)`), then "
                       "`await asyncio.shield(saving)`", stop=True)
        ex.expect(db.saved == ["order 2"], "the save still completes, at 3 units",
                  got="the save was cancelled" if db.cancelled else f"db.saved == {db.saved}",
                  hint="asyncio.shield(...) keeps the save running when the caller is cancelled")
    return ex.report()


# --- notebook 07 ---------------------------------------------------------------------------

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


def _service_script(answer: Callable[..., Any]) -> str:
    try:
        source = textwrap.dedent(inspect.getsource(answer))
    except (OSError, TypeError) as exc:
        raise ValueError(f"cannot read the source of {answer!r}: define it with `async def` "
                         "in a cell") from exc
    return _SERVICE_HARNESS.format(source=source.strip(), name=answer.__name__)


async def check_graceful_service(answer: Callable[..., Any]) -> bool:
    """Exercise 7.1: ``await answer(jobs, handle)`` runs ``await handle(job)`` for each job in
    turn; on Ctrl+C it finishes the job in progress, starts no other, and returns the list of
    finished jobs.  It runs as a script in a child process that gets a real SIGINT."""
    ex = Exercise("7.1", "stop on Ctrl+C without losing the job in progress")
    async with ex.attempt():
        if not inspect.iscoroutinefunction(answer):
            ex.expect(False, "an async function (defined with `async def`)",
                      got=type(answer).__name__, stop=True)
        try:
            script = _service_script(answer)
        except ValueError as exc:
            ex.expect(False, "a function whose source can be read", got=str(exc), stop=True)
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
    """Exercise 7.2: ``await answer(tasks)`` cancels the tasks of the set whose name starts with
    ``"job"``, waits until they have ended, and returns how many ``cancel()`` calls succeeded;
    the other tasks of the set (not the learner's: think of the kernel's) keep running."""
    ex = Exercise("7.2", "stop your jobs, and only yours")
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
            runner = asyncio.create_task(_coroutine(ex, answer(tasks)), name="stop_jobs (you)")
            started.append(runner)
            tasks.add(runner)  # as in asyncio.all_tasks(): the caller's own task is there too
            how, value, took = await _outcome(runner, 20)
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


# --- transcripts ---------------------------------------------------------------------------

_TASK_REPR = re.compile(r"(coro=<[^>]*>) .*>$")
_TASK_NUMBER = re.compile(r"name='Task-\d+'")
_MARKS = re.compile(r"[\^~]+")
# A Jupyter kernel sets FORCE_COLOR=1 for the programs it starts, and Python 3.13 then colours
# its tracebacks: the escape sequences would hide "script.py" from the frame test below.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def trimmed(run: ScriptRun | str) -> str:
    """A script transcript without what changes between Python versions.

        print(trimmed(run_script(SOURCE, interrupt_on="Waiting", interrupt_after=0.1)))

    A traceback keeps its frames in ``script.py`` and its last line; the frames in the standard
    library become ``…`` (their line numbers change with each release), and the ``^^^`` / ``~~~``
    marker lines and colour codes go (3.13 draws more markers, and colours).  A task repr stops
    after its coroutine, and ``Task-12`` becomes ``Task-…`` (the rest names stdlib lines, and the
    order in which Python destroys pending tasks differs between versions).
    """
    out: list[str] = []
    in_traceback = skipping = False
    for line in _ANSI.sub("", str(run)).splitlines():
        if line.startswith("Traceback (most recent call last):"):
            in_traceback, skipping = True, False
            out.append(line)
            continue
        if in_traceback and line.startswith("  "):
            if line.startswith("  File "):
                skipping = not line.startswith('  File "script.py"')
                if not skipping:
                    out.append(line)
                elif out[-1] != "  …":
                    out.append("  …")
            elif not skipping and not _MARKS.fullmatch(line.strip()):
                out.append(line)
            continue
        in_traceback = False
        if line.startswith("task: <Task "):
            line = _TASK_NUMBER.sub("name='Task-…'", _TASK_REPR.sub(r"\1 …>", line))
        out.append(line)
    return "\n".join(out)
