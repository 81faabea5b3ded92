"""The probe: what the course's recorders rely on in asyncio's internals, and nothing else.

``timeline.Timeline`` records on top of this module; nothing here is public.  While at least one
recording is active, five methods are wrapped at class level (one, _call_soon, by a copy of
its body with the recording before it) and put back when the last one ends (also on error):

    Handle._run                          every callback and task step: times task steps, sees a
                                         sleep's timer fire (its due time), runs recorded
                                         thread-safe callbacks
    BaseEventLoop.create_task            numbers each new task; times an eager first step
    BaseEventLoop._call_soon             when a recorded task becomes ready, and with what
                                         (replaced by a copy of its five lines, the same on
                                         every version below, with the recording before them)
    BaseEventLoop.call_soon_threadsafe   records a callback handed over from another thread
    BaseEventLoop.run_in_executor        records a function sent to a thread pool

and these private names are read (never written), each listed with why:

    Handle._callback, _args, _context, _loop    what a handle runs, in which context
    Handle._source_traceback                    debug mode: reported as Handle._run reports it
    TimerHandle._when                           a timer's due time, on the loop's clock
    format_helpers._format_callback_source      the text of "Exception in callback ..."
    Task._exception                             a task's error without marking it retrieved
    Task._fut_waiter                            what a suspended task waits for
    Task._source_traceback                      debug mode: "created at" shows the caller
    BaseEventLoop._thread_id                    which thread runs a loop
    threading._active, Thread._name             a thread's name from its ident
    a task step's callback.__self__ is the task (TaskStepMethWrapper and task_wakeup in C,
    bound methods in Python); an awaiting coroutine's cr_await chain ends in what it awaits

Verified on CPython 3.11.7, 3.12.1, 3.13.0, 3.13.18, 3.14.10 and 3.15.2 (VERIFIED, tested by
tests/test_timeline.py on each in CI).  A recording's rows are columns (lists of numbers and
strings, packed into array('d') now and then) indexed by the task's number i.  A recorded
task carries i as an attribute named after its recording (Recording._key), from its creation
to the step that finishes it, when it is removed; the pending ones lose it when recording ends.
Nothing here holds a reference to a task.  (Measured on 100,000 tasks: a dict id(task) -> i
cost 0.2x of the bare run more (collector off): lookups in a large table miss the cache; a
number in each task's context would give every context a mapping the collector walks.)  A
Task-like object that takes no attribute is found by its id instead (Recording._index).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import itertools
import sys
import threading
import weakref
from array import array
from asyncio import base_events, events, format_helpers, futures
from time import perf_counter

VERIFIED = ("3.11.7", "3.12.1", "3.13.0", "3.13.18", "3.14.10", "3.15.2")

# What a task does after a slice (the w of Recording._s, one per slice): the kind of the wait
# that follows, or, negative, how it ended in that slice (DONE: with a result).
FAILED, CANCELLED, DONE, READY, SLEEP, SYNC, QUEUE, TASK, OTHER = range(-3, 6)
WAIT_NAMES = {READY: "ready", SLEEP: "sleep", SYNC: "sync", QUEUE: "queue", TASK: "task",
              OTHER: "other"}
END_NAMES = {DONE: "done", CANCELLED: "cancelled", FAILED: "error"}
# How a task was woken (Recording._r): with a plain result, its awaited future cancelled (a
# cancel request on its way), or the future's exception.
WOKEN, WOKEN_CANCELLED, WOKEN_ERROR = range(3)

# The recording active in the current context.  Tasks and handles copy the context they were
# created in, so this tells apart our tasks from the ones a Jupyter kernel creates for itself.
_ACTIVE: contextvars.ContextVar[Recording | None] = contextvars.ContextVar(
    "aiocourse_recording", default=None)
# The record of a call_soon_threadsafe callback travels in a copy of the caller's context that
# the handle runs in, set before the handle exists: the loop's thread may run it at once.
_CB: contextvars.ContextVar[list | None] = contextvars.ContextVar("aiocourse_cb", default=None)

# Callbacks and executor calls are few: each is a plain list, slices appended after the fields.
KIND, NAME, THREAD, CREATED, END, STATE, ERROR, FUNC = range(8)
FIELDS = 8


def new_rec(kind: str, name: str, created: float, func=None) -> list:
    return [kind, name, None, created, None, "pending", None, func]


class Recording:
    """The columns one recording fills; ``timeline.Timeline`` is one."""

    def __init__(self) -> None:
        # Tasks, indexed by their number i.
        self._created = array("d")
        # A recorded task carries its number as an attribute named self._key, unique to this
        # recording, from its creation to the step that finishes it; only objects of the types
        # in self._types are asked for it.  A Task-like object that takes no attribute is in
        # self._index instead (id(task) -> i, left when it finishes, before its address can be
        # reused).  self._finished counts the tasks that finished in a recorded step.
        self._key = f"_aiocourse_recording_{next(_recording_numbers)}"
        self._types: set[type] = set()
        self._index: dict[int, int] = {}
        self._finished = 0
        self._coro: list[str | None] = []
        self._given: list[str | None] = []
        # Eager tasks that had no name of their own at their first step: 3.11-3.12's
        # asyncio.create_task names a task only after loop.create_task has returned.
        self._unnamed: list[tuple[int, weakref.ref]] = []
        self._thread: list[str | None] = []
        # Flat columns of numbers, a record every few entries:
        # _s: (i, t0, t1, w) task i ran from t0 to t1, then waited for a kind w, or ended
        #                    (w < 0: DONE, CANCELLED or FAILED)
        # _r: (i, t, k)      task i became ready at t (its step was scheduled), woken k (WOKEN...)
        # _d: (i, t)         a sleep of task i was due at t (perf_counter's clock)
        # Each is a list that a record is added to with one extend() (one call, so a record is
        # never split between threads; an array's extend costs 9 times as much), moved now
        # and then into an array of its own (a float there takes 8 bytes, in a list 32).
        self._s: list = []
        self._r: list = []
        self._d: list = []
        self._packed = {"_s": array("d"), "_r": array("d"), "_d": array("d")}
        # id(future) -> due time, while the timer of an asyncio.sleep runs: read by _call_soon
        # when that wakes a recorded task.
        self._dues: dict[int, float] = {}
        self._errors: dict[int, str] = {}  # i -> repr of the exception a task ended with
        self._lost: list[tuple] = []  # (i, name, "pending" or "destroyed"), set at the end
        self._lock = threading.Lock()
        self._loops: set[asyncio.AbstractEventLoop] = set()
        self._others: list[list] = []  # callbacks and executor calls
        self._closed = False
        self._caller: int | None = None  # the number of the task that runs the block, if any
        self._caller_t0 = 0.0  # when its current step began

    def _pack(self) -> None:
        """Move the records collected so far from the lists into the arrays.  The caller holds
        self._lock; other threads may extend a list meanwhile, after the part moved."""
        for name, packed in self._packed.items():
            column = getattr(self, name)
            n = len(column)
            packed.fromlist(column[:n])
            del column[:n]

    def column(self, name: str) -> array:
        """All of a column's numbers, in order (once recording has ended)."""
        packed = self._packed[name]
        packed.fromlist(getattr(self, name))
        setattr(self, name, [])
        return packed

    def _follow(self, task, i: int) -> None:
        """Mark task as this recording's task number i."""
        try:
            setattr(task, self._key, i)
        except (AttributeError, TypeError):  # a Task-like object with no room for it
            self._index[id(task)] = i
        self._types.add(type(task))

    def _unfollow(self, task) -> None:
        try:
            delattr(task, self._key)
        except AttributeError:
            self._index.pop(id(task), None)

    def _number_of(self, task) -> int | None:
        """The number of a task followed by this recording, else None."""
        if type(task) not in self._types:
            return None
        i = getattr(task, self._key, None)
        return self._index.get(id(task)) if i is None and self._index else i

    def _new_task(self, t: float, coro_name: str | None, name: str | None) -> int:
        with self._lock:  # tasks may be created in several threads at once (loops in threads)
            i = len(self._created)
            self._created.append(t)
            self._coro.append(coro_name)
            self._given.append(name)  # until its first step tells the real name
            self._thread.append(None)
        return i


# --- the wrappers ----------------------------------------------------------------------------

_orig_run = events.Handle._run
_orig_create_task = base_events.BaseEventLoop.create_task
_orig_call_soon_threadsafe = base_events.BaseEventLoop.call_soon_threadsafe
_orig_run_in_executor = base_events.BaseEventLoop.run_in_executor
_TimerHandle = events.TimerHandle
_sleep_timer = futures._set_result_unless_cancelled  # what asyncio.sleep's timer calls
_probe_lock = threading.Lock()
_recording_numbers = itertools.count(1)
_PACK_AT = 1 << 15  # numbers in Recording._s that make _create_task pack the columns
_probe_users = 0


def task_name(task) -> str | None:
    # A task factory may return a Task-like object without names (see _create_task).
    get_name = getattr(task, "get_name", None)
    return get_name() if get_name is not None else None


def end_code(rec: Recording, i: int, task) -> int:
    """How a finished task ended: DONE, CANCELLED or FAILED (its error kept in rec._errors)."""
    if task.cancelled():
        return CANCELLED
    # Read the private slot, not task.exception(): that would mark the exception as retrieved and
    # silence the "Task exception was never retrieved" warning that a lesson may want to show.
    # (A Task-like object from a task factory may not have the slot: then ask it.)
    exc = task._exception if hasattr(task, "_exception") else task.exception()
    if exc is None:
        return DONE
    rec._errors[i] = short_repr(exc)
    return FAILED


def _report(handle: events.Handle, exc: BaseException) -> None:
    # What Handle._run does with an exception from a callback (CPython Lib/asyncio/events.py).
    if sys.version_info >= (3, 13):  # the debug argument is new in 3.13
        cb = format_helpers._format_callback_source(
            handle._callback, handle._args, debug=handle._loop.get_debug())
    else:
        cb = format_helpers._format_callback_source(handle._callback, handle._args)
    context = {"message": f"Exception in callback {cb}", "exception": exc, "handle": handle}
    if handle._source_traceback:
        context["source_traceback"] = handle._source_traceback
    handle._loop.call_exception_handler(context)


def _kind_of_file(filename: str) -> int:
    # Compared by the end of the path: a pyc may carry the path it was compiled at.
    tail = filename.replace("\\", "/")
    if tail.endswith("/asyncio/locks.py"):
        return SYNC  # Lock, Event, Condition, Semaphore, BoundedSemaphore, Barrier
    if tail.endswith("/asyncio/queues.py"):
        return QUEUE
    return OTHER


_FILE_KINDS: dict[str, int] = {}


def wait_kind(task) -> int:
    """What a task that just suspended waits for: from the future it awaits and the innermost
    coroutine of its await chain (Semaphore.acquire is in asyncio/locks.py, Queue.get in
    asyncio/queues.py, asyncio.sleep in asyncio/tasks.py)."""
    waiter = getattr(task, "_fut_waiter", None)
    if waiter is None:
        return READY  # a bare yield (asyncio.sleep(0)): it is ready again at once
    if isinstance(waiter, asyncio.Task) or type(waiter).__name__ == "_GatheringFuture":
        return TASK
    code = None
    obj = task.get_coro() if hasattr(task, "get_coro") else None
    while obj is not None:  # coroutines (cr_await) and generator-based awaits (gi_yieldfrom)
        try:
            code, obj = obj.cr_code, obj.cr_await
        except AttributeError:
            try:
                code, obj = obj.gi_code, obj.gi_yieldfrom
            except AttributeError:
                break
    if code is None:
        return OTHER
    if code is _SLEEP_CODE:
        return SLEEP
    kind = _FILE_KINDS.get(code.co_filename)
    if kind is None:
        kind = _FILE_KINDS[code.co_filename] = _kind_of_file(code.co_filename)
    return kind


_SLEEP_CODE = asyncio.sleep.__code__


# Loops under an X-ray (xray.XRay), and the marks its recorded code carries in its context.
_xrays: dict = {}
_XR: contextvars.ContextVar = contextvars.ContextVar("aiocourse_xray", default=None)
_TS: contextvars.ContextVar[bool] = contextvars.ContextVar("aiocourse_threadsafe", default=False)


def _run(self: events.Handle, _seen_by_xray: bool = False) -> None:
    # Hot path: runs every callback of every loop while recording, so it inlines the original
    # Handle._run's body instead of calling it (one Python frame per callback less).
    # A task step is a handle whose callback is a method of the task (__step / task_wakeup),
    # run in the task's own context; the task's number tells it from other callbacks run there
    # (Recording._number_of, inlined).
    if _xrays and not _seen_by_xray:  # empty unless an X-ray records some loop
        xr = _xrays.get(self._loop)
        if xr is not None:
            return xr._run(self, _run_for_xray)
    ctx = self._context
    rec = ctx.get(_ACTIVE)
    i = future = None
    if rec is not None and not rec._closed:
        task = getattr(self._callback, "__self__", None)
        if type(task) in rec._types:
            i = getattr(task, rec._key, None)
            if i is None and rec._index:
                i = rec._index.get(id(task))
        if i is not None:
            t0 = perf_counter()
            if i == rec._caller:  # the step that may end the block: see Timeline.__aexit__
                rec._caller_t0 = t0
        elif self.__class__ is _TimerHandle and self._callback is _sleep_timer:
            # A sleep's timer: due at _when on the loop's clock, running now.  Its future wakes
            # the task that sleeps (see _call_soon), inside this call.
            future = self._args[0]
            rec._dues[id(future)] = perf_counter() - (self._loop.time() - self._when)
    if i is None and future is None:
        cb = ctx.get(_CB)
        if cb is not None and cb[FUNC] is self._callback and cb[END] is None:
            return _run_recorded_callback(self, cb)
    try:
        ctx.run(self._callback, *self._args)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        _report(self, exc)
    finally:
        if future is not None:
            rec._dues.pop(id(future), None)
    if i is None:
        return
    t1 = perf_counter()
    if rec._closed:  # the recording ended during this step: it is not counted
        return
    if rec._thread[i] is None:  # its first step
        rec._thread[i] = _thread_name()
        # Read here, not in create_task: 3.11's asyncio.create_task names the task only after
        # loop.create_task has returned.
        rec._given[i] = task_name(task) or rec._given[i]
    if task.done():
        rec._unfollow(task)
        rec._finished += 1
        rec._s.extend((i, t0, t1, end_code(rec, i, task)))
    else:
        rec._s.extend((i, t0, t1, wait_kind(task)))


def _run_for_xray(handle: events.Handle) -> None:
    _run(handle, True)


def _thread_name() -> str:
    # threading.current_thread().name without its two Python calls: the Thread registered
    # for this ident, else (a thread not started by threading) the dummy current_thread() makes.
    thread = _active_threads.get(_get_ident())
    return thread._name if thread is not None else threading.current_thread().name


_active_threads = threading._active
_get_ident = threading.get_ident


def _run_recorded_callback(handle: events.Handle, cb: list) -> None:
    cb[THREAD] = threading.current_thread().name
    cb[FUNC] = None
    t0 = perf_counter()
    try:
        _orig_run(handle)  # reports exceptions to the loop; does not raise
    finally:
        t1 = perf_counter()
        cb.extend((t0, t1))
        cb[END] = t1
        cb[STATE] = "done"


def _create_task(self, coro, *args, **kwargs):
    rec = _ACTIVE.get()
    if rec is None or rec._closed:
        return _orig_create_task(self, coro, *args, **kwargs)
    t0 = perf_counter()
    if kwargs:
        name, context, eager = kwargs.get("name"), kwargs.get("context"), kwargs.get("eager_start")
    else:  # asyncio.gather and ensure_future pass none
        name = context = eager = None
    lock = rec._lock
    lock.acquire()  # rec._new_task, inlined: this runs for every task
    i = len(rec._created)
    rec._created.append(t0)
    rec._coro.append(getattr(coro, "__qualname__", None))
    rec._given.append(name)
    rec._thread.append(None)
    if len(rec._s) >= _PACK_AT:
        rec._pack()
    lock.release()
    if context is not None and context.get(_ACTIVE) is not rec:
        context.run(_ACTIVE.set, rec)  # the caller chose the task's context: mark that one
    task = _orig_create_task(self, coro, *args, **kwargs)
    rec._loops.add(self)
    if self._debug:  # debug mode: where the task was created; a Task-like may not say
        tb = getattr(task, "_source_traceback", None)
        if tb and tb[-1][0] == __file__:
            del tb[-1]  # show the caller's line, as without recording ("created at ...")
    # An eager task (eager_task_factory, 3.12+; create_task(..., eager_start=True), 3.14+) ran
    # its first step inside create_task, not through Handle._run: count that step here.
    if (self._task_factory is not None or eager) and \
            inspect.iscoroutine(coro) and inspect.getcoroutinestate(coro) != "CORO_CREATED":
        rec._thread[i] = _thread_name()
        rec._given[i] = task_name(task) or rec._given[i]
        if rec._given[i] is None or rec._given[i].startswith("Task-"):
            try:  # the name may come after this returns: read it again when recording ends
                rec._unnamed.append((i, weakref.ref(task)))
            except TypeError:  # a Task-like object that takes no weak reference
                pass
        t1 = perf_counter()
        if task.done():
            rec._finished += 1
            rec._s.extend((i, t0, t1, end_code(rec, i, task)))
            return task
        rec._s.extend((i, t0, t1, wait_kind(task)))
    rec._follow(task, i)
    return task


def _call_soon(self, callback, args, context):
    # Hot path too: a task schedules each of its steps with loop.call_soon (C tasks call it by
    # name), which calls this.  A recorded task's step is scheduled in the task's own context.
    if context is not None:
        rec = context.get(_ACTIVE)
        if rec is not None and not rec._closed:
            task = getattr(callback, "__self__", None)
            i = None
            if type(task) in rec._types:  # Recording._number_of, inlined
                i = getattr(task, rec._key, None)
                if i is None and rec._index:
                    i = rec._index.get(id(task))
            if i is not None:
                kind = WOKEN
                if args:  # a wake-up: the future it awaited is done (or an exception to throw)
                    try:
                        if args[0].cancelled():
                            # A cancel request (its plain future was cancelled), not an awaited
                            # task that ended cancelled: that is the other task's story.
                            if not isinstance(args[0], asyncio.Task):
                                kind = WOKEN_CANCELLED
                        elif getattr(args[0], "_exception", None) is not None:
                            kind = WOKEN_ERROR
                    except AttributeError:
                        kind = WOKEN_ERROR
                    if rec._dues:  # woken by the timer of its sleep: when that was due
                        due = rec._dues.pop(id(args[0]), None)
                        if due is not None:
                            rec._d.extend((i, due))
                rec._r.extend((i, perf_counter(), kind))
    # BaseEventLoop._call_soon's own body (CPython Lib/asyncio/base_events.py).
    handle = events.Handle(callback, args, self, context)
    if handle._source_traceback:
        del handle._source_traceback[-1]
    self._ready.append(handle)
    return handle


def _call_soon_threadsafe(self, callback, *args, context=None):
    xr = _xrays.get(self) if _xrays else None
    if xr is not None:  # an X-ray shows every callback handed to its loop, and from where
        context = context.copy() if context is not None else contextvars.copy_context()
        context.run(_TS.set, True)
        context.run(_XR.set, xr)
    rec = _ACTIVE.get()
    # asyncio's own plumbing (run_coroutine_threadsafe, futures crossing threads) is not a lesson.
    if rec is not None and not rec._closed and not _is_asyncio_internal(callback):
        cb = new_rec("callback", describe(callback, args), perf_counter(), callback)
        context = context.copy() if context is not None else contextvars.copy_context()
        context.run(_CB.set, cb)
        rec._others.append(cb)
    return _orig_call_soon_threadsafe(self, callback, *args, context=context)


def _run_in_executor(self, executor, func, *args):
    rec = _ACTIVE.get()
    if rec is None or rec._closed or inspect.iscoroutinefunction(func):
        return _orig_run_in_executor(self, executor, func, *args)
    cb = new_rec("executor", describe(func, args), perf_counter())
    rec._others.append(cb)
    pool = _other_process_pool(executor)
    if pool is not None:
        # Another process or interpreter runs it: a closure of ours cannot go there (not
        # picklable, not shareable), so the call is seen from here, from submission to result.
        cb[THREAD] = pool
        start = perf_counter()
        future = _orig_run_in_executor(self, executor, func, *args)

        def ended(fut) -> None:
            t1 = perf_counter()
            if fut.cancelled():
                cb[STATE] = "cancelled"
            elif fut.exception() is not None:
                cb[STATE], cb[ERROR] = "error", short_repr(fut.exception())
            else:
                cb[STATE] = "done"
            cb.extend((start, t1))
            cb[END] = t1

        future.add_done_callback(ended)
        return future

    def recorded():
        cb[THREAD] = threading.current_thread().name
        t0 = perf_counter()
        try:
            result = func(*args)
        except BaseException as exc:
            cb[STATE], cb[ERROR] = "error", short_repr(exc)
            raise
        else:
            cb[STATE] = "done"
            return result
        finally:
            t1 = perf_counter()
            cb.extend((t0, t1))
            cb[END] = t1

    return _orig_run_in_executor(self, executor, recorded)


def _other_process_pool(executor) -> str | None:
    """"interpreter pool" / "process pool" for executors whose workers are not threads of this
    interpreter, else None."""
    import concurrent.futures as cf

    interpreters = getattr(cf, "InterpreterPoolExecutor", None)  # 3.14+
    if interpreters is not None and isinstance(executor, interpreters):
        return "interpreter pool"
    if isinstance(executor, cf.ProcessPoolExecutor):
        return "process pool"
    return None


_WRAPPED = ((events.Handle, "_run", _run),
            (base_events.BaseEventLoop, "create_task", _create_task),
            (base_events.BaseEventLoop, "_call_soon", _call_soon),
            (base_events.BaseEventLoop, "call_soon_threadsafe", _call_soon_threadsafe),
            (base_events.BaseEventLoop, "run_in_executor", _run_in_executor))
_ORIGINALS = tuple(getattr(cls, name) for cls, name, _ in _WRAPPED)


def install() -> None:
    global _probe_users
    with _probe_lock:
        _probe_users += 1
        if _probe_users == 1:
            for cls, name, wrapper in _WRAPPED:
                setattr(cls, name, wrapper)


def uninstall() -> None:
    global _probe_users
    with _probe_lock:
        _probe_users -= 1
        if _probe_users == 0:
            for (cls, name, _), original in zip(_WRAPPED, _ORIGINALS, strict=True):
                setattr(cls, name, original)


def users() -> int:
    return _probe_users


# --- small helpers the recorders share -------------------------------------------------------


def _is_asyncio_internal(callback) -> bool:
    # A method of a future or task (task.cancel handed over by run_coroutine_threadsafe's
    # future): C methods have no __module__, so look at what they are bound to.
    if isinstance(getattr(callback, "__self__", None), asyncio.Future):
        return True
    module = getattr(callback, "__module__", None) or ""
    return module == "asyncio" or module.startswith(("asyncio.", "concurrent."))


def describe(func, args: tuple) -> str:
    # asyncio.to_thread submits functools.partial(context.run, func, *args): show func(*args).
    if isinstance(func, functools.partial):
        args = func.args + args
        func = func.func
        if getattr(func, "__name__", None) == "run" and isinstance(
            getattr(func, "__self__", None), contextvars.Context
        ) and args:
            func, args = args[0], args[1:]
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    name = name.rpartition("<locals>.")[2]  # a function defined inside a test or a cell
    owner = getattr(func, "__self__", None)
    if owner is not None and not isinstance(owner, type) and "." in name and \
            getattr(func, "__func__", None) is not None:
        # A method inherited from a base class: name the object's own class (aiohttp's
        # ResponseHandler, not the BaseProtocol that defines connection_made).
        name = f"{type(owner).__qualname__.rpartition('<locals>.')[2]}.{name.rpartition('.')[2]}"
    shown = ", ".join(_short_arg(a) for a in args)
    return f"{name}({shown})"


def _short_arg(obj: object) -> str:
    # An object shown as <...> (a transport, a future) reads better as its type than cut short.
    text = repr(obj)
    if len(text) > 12 and text.startswith("<"):
        return type(obj).__name__
    return short_repr(obj, 12)


def short_repr(obj: object, limit: int = 40) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def loop_thread_name(loop: asyncio.AbstractEventLoop) -> str:
    ident = getattr(loop, "_thread_id", None)  # set by BaseEventLoop while it runs
    thread = threading._active.get(ident) if ident is not None else None
    return thread.name if thread is not None else "?"
