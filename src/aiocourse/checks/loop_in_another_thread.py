"""Checks for notebook 10 (a loop in another thread).

    from aiocourse.checks.loop_in_another_thread import check_run_all
    await check_run_all(run_all)     # prints feedback, returns True or False

The answers are plain (synchronous) functions: each check calls them from a thread of its own,
"sync caller", as a script or a GUI would, so that a mistake that blocks cannot freeze the
kernel, and gives them a loop thread and jobs it made itself.  The jobs log which thread ran
them and when (the referee's EventLog), so the check compares that with what the answer claims
instead of trusting its return value alone: "at the same time" is three jobs started before the
first ended, "gives up after the timeout" the referee's beat's verdict.  Whatever an answer
leaves behind (a running loop, a thread, a pending task) is cleaned up before the check returns.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from ..exercises import Exercise
from ..loop_thread import LoopThread
from . import UNIT
from ._threads import (
    LOOP_NAME,
    Jobs,
    _close_unstarted,
    _how_it_ends,
    _require_sync_function,
    _SyncCaller,
)
from .referee import units

__all__ = ["UNIT", "check_run_all", "check_result_or_none", "check_shut_down",
           "check_run_sync"]


async def check_run_all(answer: Callable[..., Any]) -> bool:
    """Exercise 10.1: ``answer(lt, job, args)``, called from sync code, runs ``job(arg)`` for
    every arg on the loop thread ``lt``, all at the same time, and returns the results in the
    order of ``args``."""
    ex = Exercise("10.1", "run coroutines on a loop thread from sync code")
    jobs = Jobs(ex.ref.log)
    caller = None
    async with ex.attempt():
        _require_sync_function(ex, answer)
        with LoopThread(name=LOOP_NAME) as lt:
            start = ex.ref.now()
            caller = _SyncCaller(answer, lt, jobs.job, [3, 1, 2])
            result = await caller.result(ex, 2, hint="is it waiting for something that never "
                                                     "finishes? Give .result() a timeout")
            took = ex.ref.now() - start
        ex.expect(result == [30, 10, 20], "returns the results in the order of args: "
                  "[30, 10, 20]", got=result,
                  hint="keep the futures in a list and call .result() on each, in order")
        ex.expect(jobs.threads() == [LOOP_NAME],
                  f"runs every job on the loop thread lt (thread {LOOP_NAME!r})",
                  got=f"ran on {jobs.threads()}",
                  hint="lt.submit(job(arg)), or asyncio.run_coroutine_threadsafe(job(arg), "
                       "lt.loop): asyncio.run() would start a new loop in your own thread")
        # Judged by the jobs' own clocks, not the total: a busy machine makes the total late
        # too, but jobs that ran one after the other never overlap.
        spans = [jobs.ran[key][1:3] for key in ("job 3", "job 1", "job 2") if key in jobs.ran]
        together = len(spans) == 3 and max(start for start, _ in spans) < min(
            end if end is not None else float("inf") for _, end in spans)
        ex.expect(together, "runs the jobs at the same time: all three start before the first "
                  "ends (about 3 units, not 3 + 1 + 2 = 6)", got=units(took),
                  hint="submit every job first, then wait for the results")
    if caller is not None:
        caller.finish()
    return ex.report()


async def check_result_or_none(answer: Callable[..., Any]) -> bool:
    """Exercise 10.2: ``answer(lt, coro, timeout)``, called from sync code, runs ``coro`` on the
    loop thread ``lt`` and returns its result, or, when that takes longer than ``timeout``
    seconds, cancels it and returns None."""
    ex = Exercise("10.2", "a time limit from the caller's side")
    jobs = Jobs(ex.ref.log)
    callers = []
    fast_job, slow_job = jobs.job(1), jobs.job(20)
    async with ex.attempt():
        _require_sync_function(ex, answer)
        with LoopThread(name=LOOP_NAME) as lt:
            callers.append(_SyncCaller(answer, lt, fast_job, 4 * UNIT))
            fast = await callers[-1].result(ex, 2, hint="give .result() the timeout")
            ex.expect(fast == 10, "a job that finishes in time: returns its result (10)",
                      got=fast, hint="future.result(timeout)")
            start = ex.ref.now()
            callers.append(_SyncCaller(answer, lt, slow_job, 2 * UNIT))
            slow = await callers[-1].result(ex, 2, hint="give .result() the timeout")
            returned = ex.ref.now()
            how = await _how_it_ends(jobs, "job 20", within=10)
        ex.expect(slow is None, "a job that is too slow: returns None", got=slow,
                  hint="catch TimeoutError from future.result(timeout)")
        ex.expect(not ex.ref.since(start, returned, 2, allowance=2),
                  "gives up after the timeout (2 units), not after the job (20 units)",
                  got=units(returned - start))
        ex.expect(how == "cancelled", "cancels the slow job: it stops running on the loop",
                  got="it was still running 10 units after your function returned"
                  if how == "running" else f"it ended: {how}",
                  hint="future.result(timeout) only stops waiting; future.cancel() cancels "
                       "the task in the loop thread")
    for caller in callers:
        caller.finish()
    _close_unstarted(fast_job, slow_job)
    return ex.report()


async def check_shut_down(answer: Callable[..., Any]) -> bool:
    """Exercise 10.3: ``answer(loop, thread)``, called from another thread, shuts down a loop
    that runs forever in ``thread``: the task and async generator left on it are finalized in
    the loop's thread, the loop stops, the thread ends and the loop is closed."""
    ex = Exercise("10.3", "shut a loop thread down cleanly, by hand")
    caller = None
    with ex.check():
        _require_sync_function(ex, answer)
        # Built in an empty context: none of this is the learner's, and no Timeline records it.
        world = contextvars.Context().run(_LeftOvers)
        try:
            caller = _SyncCaller(answer, world.loop, world.thread)
            await caller.result(ex, 1, hint="loop.stop() from another thread does not wake the "
                                            "sleeping loop: loop.call_soon_threadsafe(loop.stop)")
        except RuntimeError as exc:
            if "Cannot close a running event loop" not in str(exc):
                raise
            ex.expect(False, "loop.close() comes last, once the loop has stopped",
                      got=f"RuntimeError: {exc}", hint="stop the loop with "
                      "loop.call_soon_threadsafe(loop.stop), then thread.join(), then close",
                      stop=True)
        finally:
            seen = world.snapshot()
            if caller is not None and caller.thread.is_alive():
                world.rescue()  # wakes a thread.join() that waits for a loop that never stops
                caller.finish()
            problems = world.tidy()
        ex.expect(not seen["thread alive"], "the loop's thread has ended",
                  hint="thread.join() after stopping the loop")
        ex.expect(seen["loop closed"], "the loop is closed", hint="loop.close(), last")
        ex.expect(seen["task cancelled in"] == LOOP_NAME,
                  "the task left on the loop is cancelled, in the loop's thread, before it "
                  "stops", got="; ".join(problems) or "it was never cancelled",
                  hint="a coroutine run with run_coroutine_threadsafe can cancel the others: "
                       "asyncio.all_tasks() minus itself, cancel, then gather them")
        ex.expect(seen["generator closed in"] == LOOP_NAME,
                  "the async generator left open is closed in the loop's thread",
                  got="it was never closed", hint="await loop.shutdown_asyncgens() in that same "
                                                  "coroutine")
    if caller is not None:
        caller.finish()
    return ex.report()


class _LeftOvers:
    """A loop running forever in thread "exercise loop", with a task and an async generator
    left on it, as the post's code would leave them."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.messages: list[str] = []
        self.loop.set_exception_handler(lambda loop, context: self.messages.append(
            context["message"]))
        self.thread = threading.Thread(target=self.loop.run_forever, name=LOOP_NAME,
                                       daemon=True)
        self.task_cancelled_in: str | None = None
        self.generator_closed_in: str | None = None
        self._generator = None
        self._task: asyncio.Task | None = None
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._leave_things(), self.loop).result(2)

    async def _forgotten(self) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.task_cancelled_in = threading.current_thread().name
            raise

    async def _numbers(self):
        try:
            for i in range(10):
                yield i
        finally:
            self.generator_closed_in = threading.current_thread().name

    async def _leave_things(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._forgotten(), name="forgotten")
        self._generator = self._numbers()
        await self._generator.__anext__()  # left suspended inside the loop
        await asyncio.sleep(0)  # the forgotten task starts

    def snapshot(self) -> dict[str, Any]:
        return {"thread alive": self.thread.is_alive(), "loop closed": self.loop.is_closed(),
                "task cancelled in": self.task_cancelled_in,
                "generator closed in": self.generator_closed_in}

    def rescue(self) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(2)

    def tidy(self) -> list[str]:
        """Undo what the answer left; return what asyncio reported about the leftovers."""
        if self.thread.is_alive():
            self.rescue()
        if not self.loop.is_closed() and not self.thread.is_alive():
            # Stopped but not closed: finish the clean-up in a thread of our own (the kernel's
            # thread already runs a loop, so it cannot run this one).
            helper = threading.Thread(target=_finish_loop, args=(self.loop,), name="tidy-up")
            helper.start()
            helper.join(5)
        # An async generator never closed on its loop: close it here, quietly.
        if self._generator is not None and self.generator_closed_in is None:
            closer = self._generator.aclose()
            try:
                closer.send(None)
            except (StopIteration, RuntimeError):
                pass
        self._generator = None
        task, self._task = self._task, None
        pending = task is not None and not task.done()
        del task
        gc.collect()  # a pending task of a closed loop is destroyed here: its handler notes it
        if pending and not self.messages:
            self.messages.append("it was still pending when the loop closed")
        return self.messages


def _finish_loop(loop: asyncio.AbstractEventLoop) -> None:
    try:
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.wait(tasks, timeout=2))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


async def _later(value: str) -> str:
    await asyncio.sleep(UNIT)
    return value


async def check_run_sync(run_sync: Callable[[Coroutine], Any]) -> bool:
    """Exercise 10.4: ``run_sync(coro)`` returns the coroutine's result, from any plain code.

    It is called twice: where a loop is already running (like a notebook cell) and in a thread
    where none runs (like a script).  Both calls must return the result; asyncio must not be
    patched (nest_asyncio) on the way.
    """
    ex = Exercise("10.4", "run a coroutine from plain code, in a cell and in a script")
    made: list[Coroutine] = []

    def later(value: str) -> Coroutine:
        coro = _later(value)
        made.append(coro)
        return coro

    try:
        async with ex.attempt():
            _require_sync_function(ex, run_sync)
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
        _close_unstarted(*made)  # the ones the answer never ran: no "never awaited" later
    return ex.report()


