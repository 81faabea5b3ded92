"""An event loop that runs forever in a background thread, for synchronous code that calls asyncio.

    import asyncio
    from aiocourse.loop_thread import LoopThread

    with LoopThread(name="loop") as lt:
        future = lt.submit(asyncio.sleep(0.1, result="done"))  # a concurrent.futures.Future
        print(future.result(timeout=1))                       # done
        lt.call_soon(print, "hello from the loop thread")     # runs in thread "loop"
    # here the loop is closed and its thread has ended

Entering starts a thread whose loop runs until the block ends.  Leaving stops the loop from the
caller's thread, lets the loop thread cancel the tasks still on the loop and wait for them, shut
down async generators and the default executor (what ``asyncio.Runner.close`` does), then joins
the thread and closes the loop.  A LoopThread is used once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import enum
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["LoopThread"]

T = TypeVar("T")

CANCEL_TIMEOUT = 5.0  # seconds the tasks left at exit get to finish after being cancelled


class _State(enum.Enum):
    CREATED = "not started"
    RUNNING = "running"
    CLOSED = "closed"


class LoopThread:
    """Run an event loop forever in a thread of its own; see the module docstring.

    ``submit(coro)`` schedules a coroutine on that loop from any thread and returns a
    ``concurrent.futures.Future``; ``call_soon(fn, *args)`` schedules a plain function.  Both
    are thin wrappers around the two thread-safe doors into a loop,
    ``asyncio.run_coroutine_threadsafe`` and ``loop.call_soon_threadsafe``.  Whatever is still
    running when the block ends is cancelled: wait for the futures you need inside the block.
    """

    # Like asyncio.Runner, the class is not meant for inheritance.

    def __init__(self, name: str = "loop", *, debug: bool | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty str (the thread's name), not {name!r}")
        self._name = name
        self._debug = debug
        self._state = _State.CREATED
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._cancelled_on_exit: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"<LoopThread {self._name!r} {self._state.value}>"

    # --- life cycle ----------------------------------------------------------------------

    def __enter__(self) -> LoopThread:
        self.start()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        self.close()

    def start(self) -> None:
        """Create the loop and start its thread; returns once the loop is running."""
        if self._state is _State.RUNNING:
            raise RuntimeError(f"{self!r} was already entered: a LoopThread is entered once "
                               "(`with LoopThread() as lt:`); use the `lt` you have.")
        if self._state is _State.CLOSED:
            raise RuntimeError(f"{self!r} cannot be started again: create a new LoopThread() "
                               "for each `with` block.")
        loop = asyncio.new_event_loop()
        if self._debug is not None:
            loop.set_debug(self._debug)
        ready = threading.Event()
        # daemon=True: a LoopThread that is never closed (no `with`, a crashed script) must not
        # keep the interpreter from exiting; the `with` block is what ends the thread.
        thread = threading.Thread(target=_run_loop, args=(loop, ready, self), name=self._name,
                                  daemon=True)
        try:
            thread.start()
        except BaseException:
            loop.close()
            raise
        # The thread sets `ready` from a callback inside run_forever(), so once it is set the
        # loop is running and call_soon_threadsafe() will wake it up.
        ready.wait()
        if not loop.is_running():  # run_forever() raised: the thread printed why
            thread.join()
            loop.close()
            self._state = _State.CLOSED
            raise RuntimeError(f"the event loop of {self!r} did not start: see the error "
                               "its thread printed")
        self._loop, self._thread = loop, thread
        self._state = _State.RUNNING

    def close(self) -> None:
        """Stop the loop, cancel what is left on it, join the thread, close the loop.

        Closing twice, or closing a LoopThread that never started, does nothing.
        """
        if self._state is not _State.RUNNING:
            self._state = _State.CLOSED
            return
        loop, thread = self._loop, self._thread
        assert loop is not None and thread is not None
        if threading.current_thread() is thread:
            # A callback or coroutine on this loop cannot wait for its own thread to end.
            raise RuntimeError(f"{self!r} cannot be closed from its own loop thread (it would "
                               "wait for itself forever): leave the `with` block in the thread "
                               "that entered it.")
        self._state = _State.CLOSED
        if thread.is_alive():
            # loop.stop() from this thread would set a flag the sleeping loop never looks at:
            # call_soon_threadsafe() also wakes it up.  The stop is queued behind the callbacks
            # already handed over, so those still run.
            loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

    # --- handing work to the loop --------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop that runs in the thread (closed after the ``with`` block)."""
        if self._loop is None:
            raise RuntimeError(f"{self!r} has no loop yet: use `with LoopThread() as lt:` "
                               "and `lt.loop` inside the block.")
        return self._loop

    @property
    def thread(self) -> threading.Thread:
        """The thread that runs the loop (ended after the ``with`` block)."""
        if self._thread is None:
            raise RuntimeError(f"{self!r} has no thread yet: use `with LoopThread() as lt:` "
                               "and `lt.thread` inside the block.")
        return self._thread

    @property
    def cancelled_on_exit(self) -> tuple[str, ...]:
        """The names (sorted) of the tasks that were still running when the loop stopped."""
        return self._cancelled_on_exit

    def submit(self, coro: Coroutine[Any, Any, T], *,
               name: str | None = None) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop from any thread, as a task called ``name``.

        The returned future is thread-safe: ``future.result(timeout)`` waits for the task (never
        call it from a coroutine on this same loop: it would block the loop that the task
        needs), and ``future.cancel()`` cancels the task.
        """
        if not asyncio.iscoroutine(coro):
            raise TypeError(f"LoopThread.submit() takes a coroutine, not {_describe(coro)}"
                            f"{_coroutine_hint(coro)}")
        try:
            loop = self._require_running("submit")
            if name is not None and not isinstance(name, str):
                raise TypeError(f"name must be a str, not {type(name).__name__}")
        except BaseException:
            coro.close()  # nothing will ever run it: no "coroutine was never awaited" warning
            raise
        if name is not None:
            coro = _Named(coro, name)
        return asyncio.run_coroutine_threadsafe(coro, loop)

    def call_soon(self, callback: Callable[..., object], *args: Any,
                  context: contextvars.Context | None = None) -> asyncio.Handle:
        """Schedule the plain function ``callback(*args)`` on the loop from any thread.

        It runs in the loop's thread, one callback after another: a callback that blocks (say
        ``time.sleep``) holds up every other callback and task of that loop.
        """
        if asyncio.iscoroutine(callback):
            callback.close()
            raise TypeError("LoopThread.call_soon() takes a plain function; a coroutine goes to "
                            "lt.submit(coro)")
        if inspect.iscoroutinefunction(callback):
            raise TypeError(f"{callback.__qualname__} is an async function: use "
                            f"lt.submit({callback.__qualname__}(...)) instead of call_soon()")
        if not callable(callback):
            raise TypeError(f"LoopThread.call_soon() takes a function, not {_describe(callback)}")
        loop = self._require_running("call_soon")
        return loop.call_soon_threadsafe(callback, *args, context=context)

    def _require_running(self, what: str) -> asyncio.AbstractEventLoop:
        if self._state is _State.CREATED:
            raise RuntimeError(f"{self!r} was not started: call lt.{what}() inside "
                               "`with LoopThread() as lt:`")
        if self._state is _State.CLOSED:
            raise RuntimeError(f"{self!r} is closed: call lt.{what}() inside its `with` block, "
                               "or create a new LoopThread()")
        assert self._loop is not None and self._thread is not None
        if not self._thread.is_alive() or self._loop.is_closed():
            # Something on the loop called loop.stop() or raised KeyboardInterrupt: a coroutine
            # handed over now would wait forever, so say so instead.
            raise RuntimeError(f"the loop of {self!r} has stopped (did a callback call "
                               "loop.stop()?): leave the `with` block and start a new one")
        return self._loop


def _run_loop(loop: asyncio.AbstractEventLoop, ready: threading.Event,
              owner: LoopThread) -> None:
    """The thread's body: run the loop until stopped, then clean up as asyncio.Runner does."""
    try:
        loop.call_soon(ready.set)
        loop.run_forever()
    finally:
        ready.set()  # also when run_forever() failed to start: never leave start() waiting
        # The clean-up runs here, in the loop's own thread, after run_forever() returned: so it
        # also happens when the loop stopped for another reason than close() (a callback called
        # loop.stop(), or raised KeyboardInterrupt).
        owner._cancelled_on_exit = _cancel_all_tasks(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())


def _cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> tuple[str, ...]:
    # As asyncio.runners._cancel_all_tasks (CPython Lib/asyncio/runners.py), with two changes:
    # return the names, so that a lesson can show what was still running; and wait at most
    # CANCEL_TIMEOUT, because a task whose wake-up was lost (say, a future completed from the
    # wrong thread) never finishes, and asyncio.Runner would then hang the notebook for good.
    to_cancel = asyncio.all_tasks(loop)
    if not to_cancel:
        return ()
    for task in to_cancel:
        task.cancel()
    done, pending = loop.run_until_complete(asyncio.wait(to_cancel, timeout=CANCEL_TIMEOUT))
    for task in pending:
        loop.call_exception_handler({
            "message": f"task did not finish within {CANCEL_TIMEOUT:g} s of being cancelled "
                       "at LoopThread shutdown: abandoned",
            "task": task,
        })
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler({
                "message": "unhandled exception during LoopThread shutdown",
                "exception": task.exception(),
                "task": task,
            })
    return tuple(sorted(task.get_name() for task in to_cancel))


class _Named(Coroutine):
    """A coroutine that names its task on its first step, and otherwise is the one it wraps.

    run_coroutine_threadsafe() has no ``name=`` (the task is created later, in the loop's
    thread), and an ``async def`` wrapper would leave the inner coroutine "never awaited" if
    the task is cancelled before it starts; this one passes every call straight through, and
    its attributes (``__qualname__``, ``cr_code``, ...) are the inner coroutine's, so reprs and
    debug-mode messages read as if it were not there.
    """

    def __init__(self, coro: Coroutine, name: str) -> None:
        self._coro = coro
        self._name: str | None = name

    def __getattr__(self, attr: str):
        if attr == "_coro":  # not set yet (copy, pickle): no endless recursion
            raise AttributeError(attr)
        return getattr(self._coro, attr)

    def _take_name(self) -> None:
        if self._name is not None:
            task = asyncio.current_task()
            if task is not None:
                task.set_name(self._name)
            self._name = None

    def send(self, value):
        self._take_name()
        return self._coro.send(value)

    def throw(self, *exc_info):
        self._take_name()  # a task cancelled before its first step starts with a throw
        return self._coro.throw(*exc_info)

    def close(self) -> None:
        self._coro.close()

    def __await__(self):
        return self._coro.__await__()


def _describe(obj: object) -> str:
    name = getattr(obj, "__qualname__", None)
    if isinstance(name, str):
        return f"{type(obj).__name__} {name}"
    text = repr(obj)
    return f"{type(obj).__name__} {text}" if len(text) <= 40 and " at 0x" not in text \
        else type(obj).__name__


def _coroutine_hint(obj: object) -> str:
    if inspect.iscoroutinefunction(obj):
        name = getattr(obj, "__qualname__", "f")
        return f": call it, lt.submit({name}(...)), not lt.submit({name})"
    if asyncio.isfuture(obj):
        return (": a Future or Task already belongs to a loop; submit a coroutine that "
                "awaits it, or await it on its own loop")
    if callable(obj):
        return ": a plain function goes to lt.call_soon(fn, *args)"
    return ""
