"""Checks for notebooks 08 (a loop in another thread) and 09 (blocking code).

    from aiocourse.checks.threads import check_run_all
    await check_run_all(run_all)     # prints feedback, returns True or False

The answers of notebook 08 are plain (synchronous) functions: each check calls them from a
thread of its own, "sync caller", as a script or a GUI would, so that a mistake that blocks
cannot freeze the kernel, and gives them a loop thread and jobs it made itself.  The jobs record
which thread ran them and when, so the check compares that with what the answer claims instead
of trusting its return value alone.  Whatever an answer leaves behind (a running loop, a thread,
a pending task) is cleaned up before the check returns.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import gc
import inspect
import threading
from collections.abc import Callable, Coroutine
from time import perf_counter, sleep
from typing import Any

from ..exercises import Exercise
from ..loop_thread import LoopThread
from . import UNIT

__all__ = [
    "UNIT",
    "Jobs",
    "check_run_all",
    "check_result_or_none",
    "check_shut_down",
    "check_run_sync",
    "check_read_all",
    "check_make_on_done",
]

# A right and a wrong answer differ by several units in each check (3 against 6, 2 against 20,
# ...): the limits sit half-way, so that a busy machine does not fail a right answer.
LOOP_NAME = "exercise loop"
CALLER_NAME = "sync caller"


class Jobs:
    """Coroutines and blocking functions that record where and when they ran.

        jobs = Jobs()
        await jobs.job(2)          # 20, after 2 units
        jobs.read("a")             # 'value a', after `read_units` units of time.sleep
        jobs.ran["job 2"]          # (thread name, start, end, how it ended), times in units
    """

    def __init__(self, read_units: int = 3) -> None:
        self.read_units = read_units
        self.ran: dict[str, tuple[str, float, float | None, str]] = {}
        self._lock = threading.Lock()
        self._t0 = perf_counter()

    def now(self) -> float:
        """Units since these jobs were made."""
        return (perf_counter() - self._t0) / UNIT

    def _note(self, key: str, start: float, how: str) -> None:
        with self._lock:
            self.ran[key] = (threading.current_thread().name, start, self.now(), how)

    async def job(self, n: int) -> int:
        """Sleep n units (awaiting), return 10 * n."""
        start = self.now()
        with self._lock:
            self.ran[f"job {n}"] = (threading.current_thread().name, start, None, "running")
        try:
            await asyncio.sleep(n * UNIT)
        except asyncio.CancelledError:
            self._note(f"job {n}", start, "cancelled")
            raise
        self._note(f"job {n}", start, "done")
        return 10 * n

    def read(self, key: str) -> str:
        """A blocking call: time.sleep for read_units units, return 'value <key>'."""
        start = self.now()
        sleep(self.read_units * UNIT)
        self._note(f"read {key}", start, "done")
        return f"value {key}"

    def threads(self) -> list[str]:
        return sorted({thread for thread, *_ in self.ran.values()})

    def running(self) -> list[str]:
        return sorted(k for k, (_, _, end, _) in self.ran.items() if end is None)


def _units(t: float) -> str:
    return f"{t:.1f} units"


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


# --- notebook 08 ---------------------------------------------------------------------------


async def check_run_all(answer: Callable[..., Any]) -> bool:
    """Exercise 8.1: ``answer(lt, job, args)``, called from sync code, runs ``job(arg)`` for
    every arg on the loop thread ``lt``, all at the same time, and returns the results in the
    order of ``args``."""
    ex = Exercise("8.1", "run coroutines on a loop thread from sync code")
    jobs = Jobs()
    caller = None
    async with ex.attempt():
        _require_sync_function(ex, answer)
        with LoopThread(name=LOOP_NAME) as lt:
            t0 = perf_counter()
            caller = _SyncCaller(answer, lt, jobs.job, [3, 1, 2])
            result = await caller.result(ex, 2, hint="is it waiting for something that never "
                                                     "finishes? Give .result() a timeout")
            took = (perf_counter() - t0) / UNIT
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
                  "ends (about 3 units, not 3 + 1 + 2 = 6)", got=_units(took),
                  hint="submit every job first, then wait for the results")
    if caller is not None:
        caller.finish()
    return ex.report()


async def check_result_or_none(answer: Callable[..., Any]) -> bool:
    """Exercise 8.2: ``answer(lt, coro, timeout)``, called from sync code, runs ``coro`` on the
    loop thread ``lt`` and returns its result, or, when that takes longer than ``timeout``
    seconds, cancels it and returns None."""
    ex = Exercise("8.2", "a time limit from the caller's side")
    jobs = Jobs()
    callers = []
    fast_job, slow_job = jobs.job(1), jobs.job(20)
    async with ex.attempt():
        _require_sync_function(ex, answer)
        with LoopThread(name=LOOP_NAME) as lt:
            callers.append(_SyncCaller(answer, lt, fast_job, 4 * UNIT))
            fast = await callers[-1].result(ex, 2, hint="give .result() the timeout")
            ex.expect(fast == 10, "a job that finishes in time: returns its result (10)",
                      got=fast, hint="future.result(timeout)")
            t0 = perf_counter()
            callers.append(_SyncCaller(answer, lt, slow_job, 2 * UNIT))
            slow = await callers[-1].result(ex, 2, hint="give .result() the timeout")
            took = (perf_counter() - t0) / UNIT
            how = await _how_it_ends(jobs, "job 20", within=10)
        ex.expect(slow is None, "a job that is too slow: returns None", got=slow,
                  hint="catch TimeoutError from future.result(timeout)")
        ex.expect(took < 6, "gives up after the timeout (2 units), not after the job "
                  "(20 units)", got=_units(took))
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
    """Exercise 8.3: ``answer(loop, thread)``, called from another thread, shuts down a loop
    that runs forever in ``thread``: the task and async generator left on it are finalized in
    the loop's thread, the loop stops, the thread ends and the loop is closed."""
    ex = Exercise("8.3", "shut a loop thread down cleanly, by hand")
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
    """Exercise 8.4: ``run_sync(coro)`` returns the coroutine's result, from any plain code.

    It is called twice: where a loop is already running (like a notebook cell) and in a thread
    where none runs (like a script).  Both calls must return the result; asyncio must not be
    patched (nest_asyncio) on the way.
    """
    ex = Exercise("8.4", "run a coroutine from plain code, in a cell and in a script")
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


# --- notebook 09 ---------------------------------------------------------------------------


def _seconds(units: float) -> str:
    # Notebook 09 counts in units of 0.1 s, these checks in 0.05 s: say seconds.
    return f"{units * UNIT:.2f} s"


async def _heartbeat(jobs: Jobs, stop: asyncio.Event, lateness: list[float]) -> None:
    """Tick every unit; note how late each tick was (a frozen loop makes them late)."""
    while not stop.is_set():
        due = jobs.now() + 1
        await asyncio.sleep(UNIT)
        lateness.append(jobs.now() - due)


async def check_read_all(answer: Callable[..., Any]) -> bool:
    """Exercise 9.1: ``await answer(read, keys)`` returns ``[read(k) for k in keys]``, where
    ``read`` is a blocking function, without freezing the event loop and all at once."""
    ex = Exercise("9.1", "stop a blocking call from freezing the loop")
    jobs = Jobs(read_units=3)
    lateness: list[float] = []
    stop = asyncio.Event()
    beat = None
    async with ex.attempt():
        beat = asyncio.create_task(_heartbeat(jobs, stop, lateness), name="heartbeat")
        await asyncio.sleep(0)
        t0 = perf_counter()
        result = await ex.run(answer(jobs.read, ["a", "b", "c"]), timeout=2)
        took = (perf_counter() - t0) / UNIT
        stop.set()
        await beat
        ex.expect(result == ["value a", "value b", "value c"],
                  "returns the values in the order of keys", got=result,
                  hint="asyncio.gather keeps the order of its arguments")
        main = [k for k, (thread, *_) in sorted(jobs.ran.items())
                if thread == threading.main_thread().name]
        ex.expect(not main, "no read runs in the loop's own thread (MainThread)",
                  got=f"ran in MainThread: {main}",
                  hint="await asyncio.to_thread(read, key) runs it in a worker thread")
        worst = max(lateness, default=0.0)
        ex.expect(worst < 3, "the loop keeps running meanwhile: a heartbeat task is never "
                  "frozen (the blocking version makes it 0.4 s late)",
                  got=f"the heartbeat was {_seconds(worst)} late")
        ex.expect(took < 6, "reads all keys at the same time: about 0.15 s, not "
                  "3 x 0.15 s", got=_seconds(took),
                  hint="start every to_thread call first: asyncio.gather(*(...))")
    if beat is not None and not beat.done():
        beat.cancel()
    return ex.report()


async def check_make_on_done(answer: Callable[..., Any]) -> bool:
    """Exercise 9.2: ``answer(loop, future)`` returns a function ``on_done(value)`` that a
    worker thread calls; it must hand ``value`` to ``future`` (of ``loop``, which runs in
    another thread) thread-safely, so that the coroutine awaiting the future wakes at once."""
    ex = Exercise("9.2", "hand a result from a worker thread to the loop")
    errors: list[BaseException] = []
    async with ex.attempt():
        # Debug mode makes the loop check the thread of every call_soon: a wrong-thread call
        # raises at once instead of working by luck.  (Its slow-callback warnings are not the
        # point here, hence the long limit.)
        with LoopThread(name=LOOP_NAME, debug=True) as lt:
            lt.loop.slow_callback_duration = 10
            jobs = Jobs()
            future = await asyncio.wrap_future(lt.submit(_new_future()))
            waiter = lt.submit(_wait_for(future, jobs, 10), name="waiter")
            on_done = ex.call(answer, lt.loop, future)
            ex.expect(callable(on_done), "returns a function on_done(value)",
                      got=type(on_done).__name__, stop=True)
            library = threading.Thread(target=_call_later, name="library thread",
                                       args=(on_done, 42, 2, errors), daemon=True)
            library.start()
            value, woke = await asyncio.wrap_future(waiter)
            library.join(2)
        error = errors[0] if errors else None
        ex.expect(error is None, "calling on_done(42) in the library's thread raises nothing",
                  got=f"{type(error).__name__}: {error}" if error else None,
                  hint="from another thread only loop.call_soon_threadsafe(...) and "
                       "asyncio.run_coroutine_threadsafe(...) are safe: "
                       "loop.call_soon_threadsafe(future.set_result, value)")
        ex.expect(value == 42, "the coroutine awaiting the future gets 42", got=value)
        ex.expect(value == 42 and woke < 6,
                  "it wakes as soon as the value is handed over (after 0.1 s), not at its "
                  "time limit (0.5 s)", got=_seconds(woke),
                  hint="call_soon_threadsafe also wakes the loop: a plain call does not")
    return ex.report()


async def _new_future() -> asyncio.Future:
    return asyncio.get_running_loop().create_future()


async def _wait_for(future: asyncio.Future, jobs: Jobs, units: int) -> tuple[Any, float]:
    # asyncio.wait with a timeout, not a plain await: a future completed from the wrong thread
    # may be marked done without ever waking its waiter, and this one must wake up anyway.
    done, _ = await asyncio.wait({future}, timeout=units * UNIT)
    value = future.result() if done and not future.cancelled() else None
    return value, jobs.now()


def _call_later(func: Callable[[Any], Any], value: Any, units: int,
                errors: list[BaseException]) -> None:
    sleep(units * UNIT)
    try:
        func(value)
    except Exception as exc:
        errors.append(exc)
