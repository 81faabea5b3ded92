"""Record when each task runs, so that concurrency can be seen, not just read about.

    async with Timeline() as tl:
        await asyncio.gather(work(1), work(2))
    print(tl.text(unit=0.1))   # the facts, rounded: checked by nbval
    tl.plot()                  # the same facts as a picture

While a Timeline is active it records every task created in its context (the ``async with`` body
and every task started from it, on any loop in any thread): creation, each run slice (from the
moment the loop resumed the task until it suspended), the thread, and how it ended.  It also
records callbacks handed to ``loop.call_soon_threadsafe`` and functions sent to an executor
(``asyncio.to_thread``, ``loop.run_in_executor``).  The loop itself is never modified: the
recorder wraps four asyncio methods at class level while any Timeline is active, and puts the
originals back when the last one exits, also on error.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import math
import sys
import threading
import weakref
from array import array
from asyncio import base_events, events, format_helpers
from dataclasses import dataclass
from time import perf_counter

__all__ = ["Timeline", "Span", "round_late"]

# The Timeline recording in the current context.  Tasks and handles copy the context they were
# created in, so this tells apart our tasks from the ones a Jupyter kernel creates for itself.
_ACTIVE: contextvars.ContextVar[Timeline | None] = contextvars.ContextVar(
    "aiocourse_timeline", default=None
)


@dataclass(frozen=True)
class Span:
    """One recorded row: a task, a thread-safe callback, or an executor call.

    Times are seconds from the start of the Timeline.  ``slices`` are the (start, end) pairs during
    which it ran on its thread; ``state`` is ``"done"``, ``"cancelled"``, ``"error"``,
    ``"pending"`` (still unfinished when the Timeline ended) or ``"destroyed"`` (garbage-collected
    while pending).
    """

    name: str
    kind: str  # "task", "callback" or "executor"
    thread: str
    created: float
    slices: tuple[tuple[float, float], ...]
    end: float | None
    state: str
    error: str | None = None

    @property
    def start(self) -> float:
        """When it first ran (its creation time if it never ran)."""
        return self.slices[0][0] if self.slices else self.created

    @property
    def running(self) -> float:
        """Total time it held its thread."""
        return sum(b - a for a, b in self.slices)


# Recording must cost little more than running the tasks (bench/timeline_overhead.py), and the
# garbage collector visits every container object a program keeps: so a task's record is not an
# object.  Each Timeline keeps columns (array('d') of times, lists of strings) indexed by the
# task's number i, and the number travels with the task in its own context (_REC), set around
# create_task so that the context the new task copies carries it.  A task step then finds its
# record with one Context.get(): no global table of tasks, no reference to any task.
_REC: contextvars.ContextVar[int | None] = contextvars.ContextVar("aiocourse_rec", default=None)

# Callbacks and executor calls are few: each is a plain list, slices appended after the fields.
KIND, NAME, THREAD, CREATED, END, STATE, ERROR, FUNC = range(8)
FIELDS = 8


def _new_rec(kind: str, name: str, created: float, func=None) -> list:
    return [kind, name, None, created, None, "pending", None, func]


# --- the probe: class-level wrappers shared by all active Timelines --------------------------

_orig_run = events.Handle._run
_orig_create_task = base_events.BaseEventLoop.create_task
_orig_call_soon_threadsafe = base_events.BaseEventLoop.call_soon_threadsafe
_orig_run_in_executor = base_events.BaseEventLoop.run_in_executor

# The record of a call_soon_threadsafe callback travels in a copy of the caller's context that
# the handle runs in, set before the handle exists: the loop's thread may run it at once.
_CB: contextvars.ContextVar[list | None] = contextvars.ContextVar("aiocourse_cb", default=None)
_probe_lock = threading.Lock()
_probe_users = 0


def _task_name(task) -> str | None:
    # A task factory may return a Task-like object without names (see _create_task).
    get_name = getattr(task, "get_name", None)
    return get_name() if get_name is not None else None


def _finish_task(tl: Timeline, i: int, task: asyncio.Task, t: float) -> None:
    if task.cancelled():
        tl._fin.append((i, t, _task_name(task), "cancelled", None))
        return
    # Read the private slot, not task.exception(): that would mark the exception as retrieved and
    # silence the "Task exception was never retrieved" warning that a lesson may want to show.
    # (A Task-like object from a task factory may not have the slot: then ask it.)
    exc = task._exception if hasattr(task, "_exception") else task.exception()
    if exc is None:
        tl._fin.append((i, t, _task_name(task), "done", None))
    else:
        tl._fin.append((i, t, _task_name(task), "error", _short_repr(exc)))


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


def _run(self: events.Handle) -> None:
    # Hot path: replaces Handle._run for every callback of every loop while recording, so it
    # inlines the original's body instead of calling it (one Python frame per callback less).
    # A task step is a handle whose callback is a method of the task (__step / task_wakeup),
    # run in the task's own context; the id check tells it from other callbacks run there.
    ctx = self._context
    i = ctx.get(_REC)
    if i is not None:
        tl = ctx.get(_ACTIVE)
        task = getattr(self._callback, "__self__", None)
        if tl is not None and not tl._closed and tl._ids[i] == id(task):
            t0 = perf_counter()
            try:
                ctx.run(self._callback, *self._args)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                _report(self, exc)
            t1 = perf_counter()
            if tl._thread[i] is None:  # its first step
                tl._thread[i] = threading.current_thread().name
                # Read here, not in create_task: 3.11's asyncio.create_task names the task
                # only after loop.create_task has returned.
                tl._given[i] = _task_name(task) or tl._given[i]
            tl._s_i.append(i)
            tl._s_t0.append(t0)
            tl._s_t1.append(t1)
            if task.done():
                _finish_task(tl, i, task, t1)
            return
    rec = ctx.get(_CB)
    if rec is not None and rec[FUNC] is self._callback and rec[END] is None:
        return _run_recorded_callback(self, rec)
    try:
        ctx.run(self._callback, *self._args)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        _report(self, exc)


def _run_recorded_callback(handle: events.Handle, rec: list) -> None:
    rec[THREAD] = threading.current_thread().name
    rec[FUNC] = None
    t0 = perf_counter()
    try:
        _orig_run(handle)  # reports exceptions to the loop; does not raise
    finally:
        t1 = perf_counter()
        rec.extend((t0, t1))
        rec[END] = t1
        rec[STATE] = "done"


def _mark(tl: Timeline, i: int) -> None:
    _ACTIVE.set(tl)
    _REC.set(i)


def _create_task(self, coro, *args, **kwargs):
    tl = _ACTIVE.get()
    if tl is None or tl._closed:
        return _orig_create_task(self, coro, *args, **kwargs)
    t0 = perf_counter()
    with tl._lock:  # tasks may be created in several threads at once (loops in threads)
        i = len(tl._created)
        tl._created.append(t0)
        tl._ids.append(0)
        tl._coro.append(getattr(coro, "__qualname__", None))
        tl._given.append(kwargs.get("name"))  # until its first step tells the real name
        tl._thread.append(None)
    context = kwargs.get("context")
    if context is not None:  # the caller chose the task's context: mark that one
        context.run(_mark, tl, i)
        task = _orig_create_task(self, coro, *args, **kwargs)
    else:
        token = _REC.set(i)
        try:
            task = _orig_create_task(self, coro, *args, **kwargs)
        finally:
            _REC.reset(token)
    tl._ids[i] = id(task)
    tl._loops.add(self)
    # A task factory may return a Task-like object that is not an asyncio.Task.
    tb = getattr(task, "_source_traceback", None)  # debug mode: where the task was created
    if tb and tb[-1][0] == __file__:
        del tb[-1]  # show the caller's line, as without recording ("created at ...")
    # An eager task (eager_task_factory, 3.12+; create_task(..., eager_start=True), 3.14+) ran
    # its first step inside create_task, not through Handle._run: count that step here.
    if inspect.iscoroutine(coro) and inspect.getcoroutinestate(coro) != "CORO_CREATED":
        tl._thread[i] = threading.current_thread().name
        tl._given[i] = _task_name(task) or tl._given[i]
        tl._s_i.append(i)
        tl._s_t0.append(t0)
        tl._s_t1.append(perf_counter())
        if task.done():
            _finish_task(tl, i, task, perf_counter())
    return task


def _call_soon_threadsafe(self, callback, *args, context=None):
    tl = _ACTIVE.get()
    # asyncio's own plumbing (run_coroutine_threadsafe, futures crossing threads) is not a lesson.
    if tl is not None and not tl._closed and not _is_asyncio_internal(callback):
        rec = _new_rec("callback", _describe(callback, args), perf_counter(), callback)
        context = context.copy() if context is not None else contextvars.copy_context()
        context.run(_CB.set, rec)
        tl._others.append(rec)
    return _orig_call_soon_threadsafe(self, callback, *args, context=context)


def _run_in_executor(self, executor, func, *args):
    tl = _ACTIVE.get()
    if tl is None or tl._closed or inspect.iscoroutinefunction(func):
        return _orig_run_in_executor(self, executor, func, *args)
    rec = _new_rec("executor", _describe(func, args), perf_counter())
    tl._others.append(rec)

    def recorded():
        rec[THREAD] = threading.current_thread().name
        t0 = perf_counter()
        try:
            result = func(*args)
        except BaseException as exc:
            rec[STATE], rec[ERROR] = "error", _short_repr(exc)
            raise
        else:
            rec[STATE] = "done"
            return result
        finally:
            t1 = perf_counter()
            rec.extend((t0, t1))
            rec[END] = t1

    return _orig_run_in_executor(self, executor, recorded)


def _install() -> None:
    global _probe_users
    with _probe_lock:
        _probe_users += 1
        if _probe_users == 1:
            events.Handle._run = _run
            base_events.BaseEventLoop.create_task = _create_task
            base_events.BaseEventLoop.call_soon_threadsafe = _call_soon_threadsafe
            base_events.BaseEventLoop.run_in_executor = _run_in_executor


def _uninstall() -> None:
    global _probe_users
    with _probe_lock:
        _probe_users -= 1
        if _probe_users == 0:
            events.Handle._run = _orig_run
            base_events.BaseEventLoop.create_task = _orig_create_task
            base_events.BaseEventLoop.call_soon_threadsafe = _orig_call_soon_threadsafe
            base_events.BaseEventLoop.run_in_executor = _orig_run_in_executor


def _is_asyncio_internal(callback) -> bool:
    # A method of a future or task (task.cancel handed over by run_coroutine_threadsafe's
    # future): C methods have no __module__, so look at what they are bound to.
    if isinstance(getattr(callback, "__self__", None), asyncio.Future):
        return True
    module = getattr(callback, "__module__", None) or ""
    return module == "asyncio" or module.startswith(("asyncio.", "concurrent."))


def _describe(func, args: tuple) -> str:
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
    shown = ", ".join(_short_repr(a, 12) for a in args)
    return f"{name}({shown})"


def _short_repr(obj: object, limit: int = 40) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def round_late(value: float, ndigits: int = 0) -> float | int:
    """Round to ``ndigits`` (an int for 0, like ``round``), leaning early: a value counts as the
    step below until it is 3/4 of the way to the next.

    >>> round_late(5.7), round_late(5.74), round_late(5.76), round_late(0.34, 1)
    (5, 5, 6, 0.3)
    """
    steps = math.floor(max(value, 0.0) * 10**ndigits + 0.25)
    return steps if ndigits == 0 else steps / 10**ndigits


def _loop_thread_name(loop: asyncio.AbstractEventLoop) -> str:
    ident = getattr(loop, "_thread_id", None)  # set by BaseEventLoop while it runs
    thread = threading._active.get(ident) if ident is not None else None
    return thread.name if thread is not None else "?"


def _is_auto_name(name: str) -> bool:
    # asyncio names unnamed tasks Task-1, Task-2, ... from a process-wide counter, so the number
    # changes from run to run: such rows are labelled with their coroutine's name instead.
    return name.startswith("Task-") and name[5:].isdigit()


# --- the public recorder --------------------------------------------------------------------


class Timeline:
    """Records the tasks started inside ``async with Timeline() as tl:``; see the module docstring.

    A Timeline is used once.  Enter it inside a running event loop (a notebook cell, or a
    coroutine under ``asyncio.run``); results are read after the block: ``tl.spans``,
    ``tl.text()``, ``tl.plot()``.
    """

    def __init__(self) -> None:
        # Task columns, indexed by the task's number (see _REC above).
        self._created = array("d")
        self._ids = array("Q")
        self._coro: list[str | None] = []
        self._given: list[str | None] = []
        self._thread: list[str | None] = []
        self._s_i = array("q")
        self._s_t0 = array("d")
        self._s_t1 = array("d")
        self._fin: list[tuple] = []  # (i, end, name, state, error) when a task finishes
        self._lock = threading.Lock()
        self._loops: set[asyncio.AbstractEventLoop] = set()
        self._others: list[list] = []  # callbacks and executor calls
        self._spans: tuple[Span, ...] | None = None
        self._token: contextvars.Token | None = None
        self._t0 = 0.0
        self._t_end = 0.0
        self._entered = False
        self._closed = False
        self._unfinished: list[weakref.ref] = []

    def __repr__(self) -> str:
        if not self._entered:
            return "<Timeline not started>"
        if not self._closed:
            return "<Timeline recording>"
        return f"<Timeline of {len(self.spans)} spans>"

    # Misuse gets an error that names the fix.
    def __enter__(self):
        raise TypeError("Timeline records asyncio tasks: use `async with Timeline() as tl:` "
                        "inside a coroutine or a notebook cell, not `with`.")

    def __exit__(self, *exc_info):  # pragma: no cover - __enter__ always raises
        return None

    async def __aenter__(self) -> Timeline:
        if self._entered:
            raise RuntimeError(f"{self!r} was already used: create a new Timeline() "
                               "for each recording.")
        other = _ACTIVE.get()
        if other is not None and not other._closed:
            raise RuntimeError("another Timeline is already recording here: "
                               "finish its `async with` block before starting a new one.")
        asyncio.get_running_loop()  # always true in __aenter__; kept as the documented contract
        self._entered = True
        _install()
        self._token = _ACTIVE.set(self)
        self._t0 = perf_counter()
        return self

    async def __aexit__(self, *exc_info) -> None:
        self._t_end = perf_counter()
        self._closed = True
        try:
            _ACTIVE.reset(self._token)
        except ValueError:  # exited in another context than entered (e.g. awaited by hand)
            _ACTIVE.set(None)
        try:
            self._settle()
        finally:
            _uninstall()

    def _settle(self) -> None:
        """Stop following the tasks that are still running; name them while we still can."""
        finished = {f[0] for f in self._fin}
        waiting = {self._ids[i]: i for i in range(len(self._ids)) if i not in finished}
        for loop in self._loops:
            if not waiting:
                break
            for task in asyncio.all_tasks(loop):
                i = waiting.pop(id(task), None)
                if i is None:
                    continue
                self._unfinished.append(weakref.ref(task))
                self._fin.append((i, None, task.get_name(), "pending", None))
                if self._thread[i] is None:  # never ran: it belongs to its loop's thread
                    self._thread[i] = _loop_thread_name(loop)
        # Not finished and no longer anywhere: garbage-collected while pending.
        for i in waiting.values():
            self._fin.append((i, None, None, "destroyed", None))
        self._loops = set()

    def _freeze(self) -> tuple[Span, ...]:
        # Built on first use rather than on exit, so that recording stays cheap.
        t0 = self._t0
        n = len(self._created)
        slices: list[list[tuple[float, float]]] = [[] for _ in range(n)]
        for i, a, b in zip(self._s_i, self._s_t0, self._s_t1, strict=True):
            slices[i].append((a - t0, b - t0))
        fin: list[tuple | None] = [None] * n
        for f in self._fin:
            fin[f[0]] = f
        rows = []  # (created, name, auto, kind, thread, slices, end, state, error)
        for i in range(n):
            _, end, name, state, error = fin[i] or (i, None, None, "pending", None)
            if name is None:  # lost before we could ask the task: use the name it was given
                name = self._given[i]
            auto = name is None or _is_auto_name(name)
            coro = (self._coro[i] or "task").rpartition("<locals>.")[2]
            rows.append((self._created[i] - t0, coro if auto else name,
                         auto, "task", self._thread[i], tuple(slices[i]),
                         None if end is None else end - t0, state, error))
        for rec in self._others:
            times = rec[FIELDS:]
            end = rec[END]
            rows.append((rec[CREATED] - t0, rec[NAME], False, rec[KIND], rec[THREAD],
                         tuple((times[k] - t0, times[k + 1] - t0)
                               for k in range(0, len(times), 2)),
                         None if end is None else end - t0,
                         rec[STATE] if end is not None else "pending", rec[ERROR]))
        rows.sort(key=lambda r: r[0])
        # Number made-up names only where two rows would otherwise share one.
        seen: dict[str, int] = {}
        for r in rows:
            if r[2]:
                seen[r[1]] = seen.get(r[1], 0) + 1
        counter: dict[str, int] = {}
        spans = []
        for created, label, auto, kind, thread, sl, end, state, error in rows:
            if auto and seen[label] > 1:
                counter[label] = counter.get(label, 0) + 1
                label = f"{label}#{counter[label]}"
            spans.append(Span(name=label, kind=kind, thread=thread or "?", created=created,
                              slices=sl, end=end, state=state, error=error))
        self._created = self._ids = self._s_i = self._s_t0 = self._s_t1 = None
        self._coro = self._given = self._thread = self._fin = self._others = []
        return tuple(spans)

    # --- results ---------------------------------------------------------------------------

    def _require_finished(self) -> tuple[Span, ...]:
        if self._spans is None:
            if self._closed:
                self._spans = self._freeze()
                return self._spans
            if self._entered:
                raise RuntimeError("this Timeline is still recording: read it after the "
                                   "`async with` block has ended.")
            raise RuntimeError("this Timeline has not recorded anything yet: use it as "
                               "`async with Timeline() as tl:` first.")
        return self._spans

    @property
    def spans(self) -> tuple[Span, ...]:
        """Every recorded row, in creation order."""
        return self._require_finished()

    @property
    def duration(self) -> float:
        """Seconds from entering to leaving the ``async with`` block."""
        self._require_finished()
        return self._t_end - self._t0

    @property
    def unfinished_tasks(self) -> list[asyncio.Task]:
        """Tasks created while recording that had not finished when the block ended."""
        self._require_finished()
        return [t for t in (r() for r in self._unfinished) if t is not None and not t.done()]

    def __getitem__(self, name: str) -> Span:
        """The span with this name: ``tl["job 1"]``."""
        for span in self.spans:
            if span.name == name:
                return span
        names = ", ".join(repr(s.name) for s in self.spans[:10]) or "none"
        raise KeyError(f"no span named {name!r}; recorded: {names}")

    def only(self, keep) -> Timeline:
        """A finished Timeline with just the spans for which ``keep(span)`` is true.

        For lessons about one kind of row: libraries start tasks of their own (redis.asyncio
        does, and how many depends on the Python version), and those rows are not the lesson::

            tl.only(lambda s: s.name.startswith("job ")).show(unit=UNIT, ndigits=0)
        """
        if not callable(keep):
            raise TypeError(f"only() takes a function of a Span returning True to keep it, "
                            f"not {type(keep).__name__}")
        spans = tuple(s for s in self.spans if keep(s))
        view = Timeline()
        view._entered = view._closed = True
        view._t0, view._t_end = self._t0, self._t_end
        view._spans = spans
        return view

    def max_concurrency(self) -> int:
        """The largest number of spans that were started and unfinished at the same moment."""
        events_ = []
        for s in self.spans:
            events_.append((s.start, 1))
            events_.append((s.end if s.end is not None else self.duration, -1))
        best = cur = 0
        for _, step in sorted(events_, key=lambda e: (e[0], e[1])):
            cur += step
            best = max(best, cur)
        return best

    def text(self, unit: float = 1.0, ndigits: int = 1, *, threads: bool | None = None) -> str:
        """The recorded facts as a table: start, end, running time and outcome of each row.

        Times are divided by ``unit`` (seconds) and rounded to ``ndigits``, so that a stored
        notebook output stays the same from run to run.  Pick the rounding from the sleeps of
        the example, e.g. ``unit=0.05, ndigits=0`` when every sleep is a multiple of 50 ms.
        The rounding leans early: a value counts as the step below until it is 3/4 of the way
        to the next, because a timer, a wake-up or a blocking call can only be late, never
        early, and on a busy machine it is late by more than half a step now and then.
        A callback or an executor call holds its thread from its start to its end, so its
        ``ran`` is shown as end minus start, as printed: a call that started late but ended on
        time (a join) still adds up across its row.
        """
        if not unit > 0:
            raise ValueError(f"unit must be a positive number of seconds, not {unit!r}")
        if not isinstance(ndigits, int) or ndigits < 0:
            raise ValueError(f"ndigits must be an integer >= 0, not {ndigits!r}")
        spans = self.spans
        if threads is None:
            threads = len({s.thread for s in spans}) > 1

        def fmt(t: float | None) -> str:
            if t is None:
                return "-"
            return f"{round_late(t / unit, ndigits):.{ndigits}f}"

        def ran(s: Span) -> str:
            if s.kind == "task" or s.end is None:
                return fmt(s.running)
            shown = round_late(s.end / unit, ndigits) - round_late(s.start / unit, ndigits)
            return f"{shown:.{ndigits}f}"

        rows = [["name"] + (["thread"] if threads else []) + ["start", "end", "ran", "state"]]
        for s in self._ordered(spans):
            state = s.state if s.error is None else f"error {s.error}"
            rows.append([s.name] + ([s.thread] if threads else [])
                        + [fmt(s.start), fmt(s.end), ran(s), state])
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        numeric = {len(rows[0]) - 4, len(rows[0]) - 3, len(rows[0]) - 2}
        lines = []
        for r in rows:
            cells = [c.rjust(w) if i in numeric else c.ljust(w)
                     for i, (c, w) in enumerate(zip(r, widths, strict=True))]
            lines.append("  ".join(cells).rstrip())
        unit_text = "seconds" if unit == 1 else f"units of {unit:g} s"
        rows_text = "1 row" if len(spans) == 1 else f"{len(spans)} rows"
        lines.append(f"({rows_text}; times in {unit_text} from the start, "
                     f"rounded; total {fmt(self.duration)})")
        return "\n".join(lines)

    def _ordered(self, spans) -> list[Span]:
        # Group by thread (in order of first appearance, the main thread first), then creation.
        order: dict[str, int] = {}
        for s in sorted(spans, key=lambda s: (s.thread != "MainThread", s.created)):
            order.setdefault(s.thread, len(order))
        return sorted(spans, key=lambda s: (order[s.thread], s.created))

    def plot(self, title: str | None = None, *, unit: float = 1.0):
        """A matplotlib Figure: a row per span, grouped by thread (see ``timeline_plot``)."""
        from .timeline_plot import plot_spans

        return plot_spans(self._ordered(self.spans), self.duration, title=title, unit=unit)

    def show(self, unit: float = 1.0, ndigits: int = 1, title: str | None = None):
        """Print ``text(unit, ndigits)`` and draw ``plot()``: the usual last line of a cell.

        In a notebook the figure is displayed and None is returned, so that figures do not pile
        up in IPython's ``Out`` history (each keeps thousands of objects alive, and the garbage
        collector's pauses grow with them).  Elsewhere the Figure is returned.
        """
        print(self.text(unit, ndigits))
        fig = self.plot(title, unit=unit)
        shell_module = sys.modules.get("IPython")
        if shell_module is not None and shell_module.get_ipython() is not None:
            from IPython.display import display

            display(fig)
            return None
        return fig
