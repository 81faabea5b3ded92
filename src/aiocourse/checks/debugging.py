"""Checks for notebooks 14 (debugging and the error gallery) and 15 (from 2017 to today).

    from aiocourse.checks.debugging import check_unblock
    await check_unblock(checksum_async)   # prints feedback, returns True or False

Each check builds the situation the exercise describes (a blocking function, failing background
tasks, a task stuck several awaits deep, the seed post's tasks, a real Ctrl+C), runs the answer in
it, and compares what happened with what should have: the answer's return value alone is never
trusted.  Whatever an answer leaves behind (debug mode, a log handler, an exception handler,
tasks) is put back or cancelled before the check returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import io
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from ..exercises import Exercise, NotDone
from ..scripts import run_script
from . import SLACK, UNIT

__all__ = [
    "UNIT",
    "check_unblock",
    "check_report_failure",
    "check_await_chain",
    "check_port_s3",
    "check_port_ctrl_c",
]


def _units(seconds: float) -> str:
    return f"{seconds / UNIT:.1f} units"


# --- helpers shared by the checks -------------------------------------------------------------


@contextlib.contextmanager
def _slow_callback_log(loop: asyncio.AbstractEventLoop, threshold: float) -> Iterator[list[str]]:
    """Debug mode on ``loop`` for the block; collect the "Executing ... took" warnings it logs.

    The loop's debug flag, its slow-callback threshold and the ``asyncio`` logger are put back
    as they were, also when the block fails.
    """
    logger = logging.getLogger("asyncio")
    found: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if message.startswith("Executing "):
                found.append(message)

    handler = _Collect(logging.WARNING)
    was_debug, was_threshold, was_level = (loop.get_debug(), loop.slow_callback_duration,
                                           logger.level)
    was_propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # the check reports it; nothing lands on stderr
    if logger.level > logging.WARNING or logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
    loop.set_debug(True)
    loop.slow_callback_duration = threshold
    try:
        yield found
    finally:
        loop.slow_callback_duration = was_threshold
        loop.set_debug(was_debug)
        logger.removeHandler(handler)
        logger.setLevel(was_level)
        logger.propagate = was_propagate


@contextlib.contextmanager
def _loop_messages(loop: asyncio.AbstractEventLoop) -> Iterator[list[str]]:
    """Collect what reaches the loop's exception handler in the block (and at its last GC)."""
    found: list[str] = []
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        found.append(context["message"] + (f" ({type(exc).__name__})" if exc else ""))

    loop.set_exception_handler(handler)
    try:
        yield found
    finally:
        gc.collect()  # messages sent when an object dies must arrive here, not later
        loop.set_exception_handler(previous)


def _short(message: str, limit: int = 90) -> str:
    """A log message without the file positions of its reprs, cut to one readable line."""
    message = re.sub(r",? (?:defined|created) at \S+:\d+", "", message)
    message = re.sub(r"took \d+\.\d+ seconds", "took ... seconds", message)
    return message if len(message) <= limit else message[: limit - 3] + "..."


async def _finish(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=2)


# --- notebook 14 -------------------------------------------------------------------------------


async def check_unblock(answer: Callable[..., Any]) -> bool:
    """Exercise 14.1: ``await answer(checksum, data)`` returns ``checksum(data)`` (a plain
    function that blocks for 3 units) while the event loop keeps running: debug mode logs no
    slow callback and a ticker keeps ticking every unit."""
    ex = Exercise("14.1", "call a blocking function without blocking the loop")
    loop = asyncio.get_running_loop()
    loop_thread = threading.current_thread().name
    calls: list[str] = []

    def checksum(data: bytes) -> str:
        """Blocks for 3 units, like a hash of a large file would."""
        calls.append(threading.current_thread().name)
        time.sleep(3 * UNIT)
        return hashlib.sha256(data).hexdigest()[:12]

    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            await asyncio.sleep(UNIT / 2)
            ticks.append(perf_counter())

    data = b"quarterly-report.pdf"
    expected = hashlib.sha256(data).hexdigest()[:12]
    async with ex.attempt():
        with _slow_callback_log(loop, threshold=1.5 * UNIT) as slow:
            t0 = perf_counter()
            tick = asyncio.create_task(ticker(), name="ticker")
            coro = answer(checksum, data)
            if asyncio.iscoroutine(coro):  # its own task, so that debug mode names it
                coro = asyncio.create_task(coro, name="your answer")
            try:
                result = await ex.run(coro, timeout=2)
            finally:
                took = perf_counter() - t0
                tick.cancel()
                await asyncio.wait([tick])
        ex.expect(result == expected, f"returns checksum(data): {expected!r}", got=result,
                  hint="return the value that checksum(data) returns")
        ex.expect(len(calls) == 1, "calls checksum(data) once", got=f"{len(calls)} calls",
                  hint="the check's checksum is the only way to get the right result")
        ex.expect(bool(calls) and calls[0] != loop_thread,
                  "runs checksum in another thread, not in the event loop's thread",
                  got=f"it ran in {calls[0]!r}" if calls else "it never ran",
                  hint="await asyncio.to_thread(checksum, data)")
        # Only our tasks count: a kernel's own callbacks are none of the answer's business.
        slow = [m for m in slow if not re.search(r"ipykernel|tornado|zmq|jupyter", m)]
        ex.expect(not slow, "debug mode logs no slow callback",
                  got=_short(slow[0]) if slow else None,
                  hint="a task step that calls checksum(data) directly holds the loop for 3 "
                       "units; hand the call to a thread")
        times = [t0, *ticks]
        gap = max((b - a for a, b in zip(times, times[1:], strict=False)), default=took)
        ex.expect(gap < 1.5 * UNIT, "a ticker task keeps ticking every half unit meanwhile",
                  got=f"the ticker waited {_units(gap)} in a row")
        # Halfway between right (3 units) and the slowest wrong answer (two calls, 6 units): a
        # busy machine makes a right answer late by up to a unit (3.9 seen under make load).
        ex.expect(took < 4.5 * UNIT, "takes about 3 units", got=_units(took))
    return ex.report()


async def _watch_callbacks(answer: Callable[[asyncio.Task], Any]) -> dict[str, Any]:
    """Attach ``answer`` to three tasks (one returns, one raises, one is cancelled) and report
    what it printed and what reached the loop's exception handler.

    This runs outside any Timeline: on Python 3.11 and 3.12 the Timeline's recorder cannot
    report an exception raised by a plain callback (it passes ``debug=`` to asyncio's
    ``format_helpers._format_callback_source``, which takes it only from 3.13), and an answer's
    callback that raises is one of the mistakes this check must see.
    """
    loop = asyncio.get_running_loop()

    async def backup() -> str:
        await asyncio.sleep(UNIT)
        return "backed up"

    async def upload() -> str:
        await asyncio.sleep(UNIT)
        raise OSError("disk full")

    async def sync() -> str:
        await asyncio.sleep(10 * UNIT)
        return "synced"

    # A direct call first: the unfinished template raises NotImplementedError here.
    probe = loop.create_future()
    probe.set_result("probe")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            answer(probe)
    except Exception as exc:  # reported by the check, not raised
        return {"error": exc}
    out = io.StringIO()
    with _loop_messages(loop) as messages:
        with contextlib.redirect_stdout(out):
            tasks = [asyncio.create_task(backup(), name="backup"),
                     asyncio.create_task(upload(), name="upload"),
                     asyncio.create_task(sync(), name="sync")]
            for task in tasks:
                task.add_done_callback(answer)
            await asyncio.sleep(UNIT / 2)
            tasks[2].cancel()
            await asyncio.wait(tasks)  # its own callback runs after the answer's
            await asyncio.sleep(0)
        del tasks, task  # the last references: a never-retrieved exception is logged now
    return {"error": None, "lines": out.getvalue().strip().splitlines(), "messages": messages}


async def check_report_failure(answer: Callable[[asyncio.Task], Any]) -> bool:
    """Exercise 14.2: ``task.add_done_callback(answer)`` prints ``<name> failed: <exc!r>`` for a
    task that raised and nothing for a task that returned or was cancelled; asyncio then never
    logs "Task exception was never retrieved" nor "Exception in callback"."""
    ex = Exercise("14.2", "report every failure of a background task")
    seen = await _watch_callbacks(answer) if callable(answer) else {"error": None}
    async with ex.attempt():
        if not callable(answer):
            ex.call(answer)  # "expected: a function"
        if seen["error"] is not None:
            raise seen["error"]  # NotImplementedError: not done yet; others: a crash
        lines, messages = seen["lines"], seen["messages"]
        wanted = "upload failed: OSError('disk full')"
        ex.expect(lines == [wanted],
                  f"prints exactly one line, {wanted!r}, for the three tasks",
                  got=lines or "nothing was printed",
                  hint="print(f\"{task.get_name()} failed: {exc!r}\") only when the task raised")
        crashed = [m for m in messages if m.startswith("Exception in callback")]
        ex.expect(not crashed, "does not raise for a cancelled task",
                  got="asyncio logged 'Exception in callback ...' (your callback raised "
                      f"{crashed[0].rpartition('(')[2].rstrip(')')})" if crashed else None,
                  hint="task.exception() raises CancelledError for a cancelled task: check "
                       "task.cancelled() first")
        lost = [m for m in messages if "never retrieved" in m]
        ex.expect(not lost, "retrieves the exception, so asyncio does not log "
                            "'Task exception was never retrieved'",
                  got=lost[0] if lost else None,
                  hint="call task.exception(): reading it marks it as retrieved")
    return ex.report()


async def _await_in_three_steps(loop: asyncio.AbstractEventLoop) -> Any:
    async def read_reply() -> Any:
        return await loop.create_future()  # a reply that never comes

    async def fetch() -> Any:
        return await read_reply()

    async def main() -> Any:
        return await fetch()

    return main()


async def check_await_chain(answer: Callable[[asyncio.Task], Any]) -> bool:
    """Exercise 14.3: ``answer(task)`` returns the names of the coroutines a suspended task is
    in, from the task's own coroutine down to the innermost one, following ``cr_await`` while it
    leads to a coroutine."""
    ex = Exercise("14.3", "what is this task waiting for?")
    loop = asyncio.get_running_loop()

    async def poll() -> None:
        await asyncio.sleep(10 * UNIT)

    async def worker() -> None:
        await asyncio.sleep(10 * UNIT)

    async def supervisor(task: asyncio.Task) -> None:
        await task

    async def job() -> None:
        await asyncio.sleep(0)

    tasks: list[asyncio.Task] = []
    async with ex.attempt():
        try:
            stuck = asyncio.create_task(await _await_in_three_steps(loop), name="stuck")
            polling = asyncio.create_task(poll(), name="polling")
            working = asyncio.create_task(worker(), name="working")
            watching = asyncio.create_task(supervisor(working), name="watching")
            tasks += [stuck, polling, working, watching]
            await asyncio.sleep(0)  # every task has started and is now suspended
            waiting = asyncio.create_task(job(), name="not started")  # created, not run yet
            tasks.append(waiting)
            cases = [
                (stuck, ["main", "fetch", "read_reply"],
                 "a task three awaits deep, waiting on a future",
                 "start at task.get_coro() and follow coro.cr_await while it is a coroutine"),
                (polling, ["poll", "sleep"], "a task in asyncio.sleep",
                 "asyncio.sleep is a coroutine too: its name is 'sleep'"),
                (watching, ["supervisor"],
                 "a task awaiting another task (a task is not a coroutine: stop there)",
                 "stop when cr_await is not a coroutine (asyncio.iscoroutine)"),
                (waiting, ["job"], "a task that has not started yet",
                 "a coroutine that has not started has cr_await None"),
            ]
            for task, wanted, what, hint in cases:
                got = ex.call(answer, task)
                if isinstance(got, list | tuple) and all(isinstance(n, str) for n in got):
                    got = [n.rpartition(".")[2] for n in got]  # a __qualname__ is fine too
                ex.expect(got == wanted, f"{what}: {wanted}", got=got, hint=hint)
        finally:
            await _finish(tasks)
    return ex.report()


# --- notebook 15 -------------------------------------------------------------------------------


@dataclass
class _Jobs:
    """The post's ``task(x)``, recorded: ``await jobs.task(x)`` sleeps x units and returns
    ``'Done after {x}s'``, or raises for an x listed in ``fail``."""

    fail: set[int] = field(default_factory=set)
    started: list[float] = field(default_factory=list)
    finished: list[float] = field(default_factory=list)
    cancelled: list[float] = field(default_factory=list)
    running: int = 0
    _t0: float = field(default_factory=perf_counter)

    def now(self) -> float:
        return (perf_counter() - self._t0) / UNIT

    async def task(self, x: int) -> str:
        self.started.append(self.now())
        self.running += 1
        try:
            await asyncio.sleep(x * UNIT)
        except asyncio.CancelledError:
            self.cancelled.append(self.now())
            raise
        finally:
            self.running -= 1
        if x in self.fail:
            raise ValueError(f"task {x} failed")
        self.finished.append(self.now())
        return f"Done after {x}s"


def _flat(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [e for sub in exc.exceptions for e in _flat(sub)]
    return [exc]


async def check_port_s3(answer: Callable[..., Any]) -> bool:
    """Exercise 15.1: ``await answer(task)`` runs ``task(1)``, ``task(2)``, ``task(2)`` at once in
    a TaskGroup and returns their results in that order; when one fails, the others are
    cancelled and the failure comes out of ``answer``."""
    ex = Exercise("15.1", "port S3 to a TaskGroup")
    wanted = ["Done after 1s", "Done after 2s", "Done after 2s"]
    async with ex.attempt():
        jobs = _Jobs()
        t0 = perf_counter()
        result = await ex.run(answer(jobs.task), timeout=2)
        took = perf_counter() - t0
        ex.expect(result == wanted, f"returns {wanted}", got=result,
                  hint="keep the tasks tg.create_task returns; after the `async with` block, "
                       "[t.result() for t in tasks]")
        late = [round(t, 1) for t in jobs.started if t > 0.5]
        ex.expect(len(jobs.started) == 3 and not late, "starts the three tasks at once",
                  got=f"started at {[round(t, 1) for t in jobs.started]} units")
        ex.expect(took < (2 + SLACK) * UNIT, "takes about 2 units, not 1 + 2 + 2",
                  got=_units(took))

        failing = _Jobs(fail={1})
        coro = answer(failing.task)
        t0 = perf_counter()
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
        took = perf_counter() - t0
        ex.expect(any(isinstance(e, ValueError) for e in raised),
                  "when task(1) raises ValueError, the error comes out of your function "
                  "(alone or in an ExceptionGroup)",
                  got=f"returned {outcome!r}" if not raised else
                  f"raised {[type(e).__name__ for e in raised]}",
                  hint="do not catch it: a TaskGroup re-raises it in an ExceptionGroup")
        ex.expect(len(failing.cancelled) == 2 and failing.running == 0,
                  "the two other tasks are cancelled when task(1) fails",
                  got=f"{len(failing.cancelled)} cancelled, {failing.running} still running",
                  hint="asyncio.gather lets them run on; a TaskGroup cancels them for you")
        ex.expect(took < (1 + SLACK) * UNIT, "returns at the failure (about 1 unit)",
                  got=_units(took))
    return ex.report()


_CANCELLED = re.compile(r"Cancelled:\s*(\d+)")
# Three "Waiting"s, however printed (possessive: the search stays linear in a long output).
_THIRD_WAITING = re.compile(r"(?s)(?:Waiting(?:(?!Waiting).)*+){2}Waiting")


async def check_port_ctrl_c(answer: Callable[[], str]) -> bool:
    """Exercise 15.2: ``answer()`` returns the source of a script: the post's S7 ported to
    ``asyncio.run``.  Run with DeprecationWarnings as errors, it ends by itself when nobody
    presses Ctrl+C; with a real Ctrl+C it cancels every task, prints ``Interrupted`` and exits
    with code 0, with no traceback and no "Task was destroyed"."""
    ex = Exercise("15.2", "port S7 (Ctrl+C) to asyncio.run")
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
