"""What the checks of notebooks 10 and 11 share: jobs that log where they ran, and a caller
thread for answers that are plain functions (a module of its own: neither notebook's)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import threading
from collections.abc import Callable
from time import perf_counter, sleep
from typing import Any

from ..exercises import Exercise
from . import UNIT
from .referee import EventLog

__all__ = ["UNIT", "Jobs", "LOOP_NAME", "CALLER_NAME"]

LOOP_NAME = "exercise loop"
CALLER_NAME = "sync caller"


class Jobs:
    """Coroutines and blocking functions that log where and when they ran (an EventLog).

        jobs = Jobs(ex.ref.log)
        await jobs.job(2)          # 20, after 2 units
        jobs.read("a")             # 'value a', after `read_units` units of time.sleep
        jobs.ran["job 2"]          # (thread name, start, end, how it ended), times in units
    """

    def __init__(self, log: EventLog | None = None, read_units: int = 3) -> None:
        self.read_units = read_units
        self.log = log if log is not None else EventLog()

    def now(self) -> float:
        """Units since the log started."""
        return self.log.now() / UNIT

    @property
    def ran(self) -> dict[str, tuple[str, float, float | None, str]]:
        """key -> (thread, start, end or None, how it ended or "running"), times in units."""
        threads = {e.key: e.thread for e in self.log.of("start")}
        return {key: (threads[key], start / UNIT, None if end is None else end / UNIT, how)
                for key, (start, end, how) in self.log.spans(
                    ends=("done", "cancelled")).items()}

    async def job(self, n: int) -> int:
        """Sleep n units (awaiting), return 10 * n."""
        key = f"job {n}"
        self.log.record("start", key)
        try:
            await asyncio.sleep(n * UNIT)
        except asyncio.CancelledError:
            self.log.record("cancelled", key)
            raise
        self.log.record("done", key)
        return 10 * n

    def read(self, key: str) -> str:
        """A blocking call: time.sleep for read_units units, return 'value <key>'."""
        self.log.record("start", f"read {key}")
        sleep(self.read_units * UNIT)
        self.log.record("done", f"read {key}")
        return f"value {key}"

    def threads(self) -> list[str]:
        return sorted({thread for thread, *_ in self.ran.values()})

    def running(self) -> list[str]:
        return sorted(k for k, (_, _, end, _) in self.ran.items() if end is None)


def _require_sync_function(ex: Exercise, func: Any) -> None:
    if not callable(func):
        ex.expect(False, "a function", got=type(func).__name__, stop=True)
    if inspect.iscoroutinefunction(func):
        ex.expect(False, "a plain function (`def`, not `async def`): sync code calls it",
                  got="an async function", hint="in sync code, hand coroutines to the loop "
                  "thread and wait for their concurrent.futures.Future", stop=True)


class _SyncCaller:
    """Run a learner's plain function in a thread named "sync caller", awaitable with a limit.

    The function runs in a copy of the caller's context, so a Timeline recording there sees
    the tasks it hands to a loop thread.  Its thread is a daemon and is joined in ``finish()``.
    """

    def __init__(self, func: Callable[..., Any], *args: Any) -> None:
        self._future: concurrent.futures.Future = concurrent.futures.Future()
        context = contextvars.copy_context()

        def target() -> None:
            self._future.set_running_or_notify_cancel()
            try:
                result = context.run(func, *args)
            except BaseException as exc:  # handed to the check, which reports it
                self._future.set_exception(exc)
            else:
                self._future.set_result(result)

        self.thread = threading.Thread(target=target, name=CALLER_NAME, daemon=True)
        self.thread.start()

    async def result(self, ex: Exercise, timeout: float, hint: str) -> Any:
        # Polled, not wrapped in an asyncio future: if the answer never returns, no future of
        # the kernel's loop is left waiting for it.
        deadline = perf_counter() + timeout
        while not self._future.done():
            if perf_counter() > deadline:
                ex.expect(False, f"your function returns within {timeout:g} s",
                          got="still running", hint=hint, stop=True)
            await asyncio.sleep(UNIT / 5)
        return self._future.result()

    def finish(self, timeout: float = 2.0) -> None:
        self.thread.join(timeout)


async def _how_it_ends(jobs: Jobs, key: str, within: int) -> str:
    """Wait up to `within` units for a job to end; return how it ended, or that it runs."""
    deadline = jobs.now() + within
    while jobs.now() < deadline:
        how = jobs.ran.get(key, ("", 0, None, "not started"))[3]
        if how != "running":
            return how
        await asyncio.sleep(UNIT / 5)
    return "running"


def _close_unstarted(*coros: Any) -> None:
    """Close the coroutines the check made that the answer never ran: no 'never awaited'."""
    for coro in coros:
        if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
            coro.close()


