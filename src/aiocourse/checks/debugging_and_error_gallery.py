"""Checks for notebook 17 (debugging and the error gallery).

    from aiocourse.checks.debugging_and_error_gallery import check_unblock
    await check_unblock(checksum_async)   # prints feedback, returns True or False

Each check builds the situation the exercise describes (a blocking function, failing background
tasks, a task stuck several awaits deep), runs the answer in it, and compares what happened with
what should have: which thread ran the blocking call, what debug mode and the loop's exception
handler saw; the answer's return value alone is never trusted, and "about 3 units" is the
referee's beat's verdict.  Whatever an answer leaves behind (debug mode, a log handler, an
exception handler, tasks) is put back or cancelled before the check returns.
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
from typing import Any

from ..exercises import Exercise
from . import UNIT
from .referee import units

__all__ = ["UNIT", "check_unblock", "check_report_failure", "check_await_chain"]


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


async def check_unblock(answer: Callable[..., Any]) -> bool:
    """Exercise 17.1: ``await answer(checksum, data)`` returns ``checksum(data)`` (a plain
    function that blocks for 3 units) while the event loop keeps running: debug mode logs no
    slow callback and a ticker keeps ticking every unit."""
    ex = Exercise("17.1", "call a blocking function without blocking the loop")
    loop = asyncio.get_running_loop()
    loop_thread = threading.current_thread().name
    calls: list[str] = []

    def checksum(data: bytes) -> str:
        """Blocks for 3 units, like a hash of a large file would."""
        calls.append(threading.current_thread().name)
        time.sleep(3 * UNIT)
        return hashlib.sha256(data).hexdigest()[:12]

    data = b"quarterly-report.pdf"
    expected = hashlib.sha256(data).hexdigest()[:12]
    async with ex.attempt():
        # A step that calls checksum itself holds the loop 3 units; the threshold sits well
        # above what a busy machine adds to an ordinary step (an operating system's pause of
        # tens of ms), and below 3.
        with _slow_callback_log(loop, threshold=2 * UNIT) as slow:
            coro = answer(checksum, data)
            if asyncio.iscoroutine(coro):  # its own task, so that debug mode names it
                coro = asyncio.create_task(coro, name="your answer")
            result, run = await ex.timed(coro, timeout=2)
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
        ex.expect(not slow, "debug mode logs no slow callback (the loop stays free)",
                  got=_short(slow[0]) if slow else None,
                  hint="a task step that calls checksum(data) directly holds the loop for 3 "
                       "units; hand the call to a thread")
        ex.expect(not ex.slow(run, 3), "takes about 3 units (one call)", got=units(run.took))
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
    """Exercise 17.2: ``task.add_done_callback(answer)`` prints ``<name> failed: <exc!r>`` for a
    task that raised and nothing for a task that returned or was cancelled; asyncio then never
    logs "Task exception was never retrieved" nor "Exception in callback"."""
    ex = Exercise("17.2", "report every failure of a background task")
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
    """Exercise 17.3: ``answer(task)`` returns the names of the coroutines a suspended task is
    in, from the task's own coroutine down to the innermost one, following ``cr_await`` while it
    leads to a coroutine."""
    ex = Exercise("17.3", "what is this task waiting for?")
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


