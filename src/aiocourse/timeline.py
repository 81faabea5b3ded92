"""Record when each task runs, so that concurrency can be seen, not just read about.

    async with Timeline() as tl:
        await asyncio.gather(work(1), work(2))
    print(tl.text(unit=0.1))   # the facts, rounded: checked by nbval
    tl.plot()                  # the same facts as a picture

While a Timeline is active it records every task created in its context (the ``async with`` body
and every task started from it, on any loop in any thread): creation, each run slice (from the
moment the loop resumed the task until it suspended), when each slice could have started (the
task was ready), what it waited for in between (a timer, a lock or a queue, another task, I/O),
when a sleep was due, a cancel request, the thread, and how it ended.  It also records
callbacks handed to ``loop.call_soon_threadsafe`` and functions sent to an executor
(``asyncio.to_thread``, ``loop.run_in_executor``).  With ``Timeline(caller="main")`` the code of
the block itself is a row too.  The loop itself is never modified: what the recorder relies on
in asyncio (five methods wrapped at class level while any Timeline is active, then put back,
also on error) is listed in ``aiocourse._probe``.
"""

from __future__ import annotations

import asyncio
import math
import threading
import weakref
from dataclasses import dataclass
from time import perf_counter

from . import _probe
from ._probe import (
    CREATED,
    DONE,
    END,
    END_NAMES,
    ERROR,
    FIELDS,
    KIND,
    NAME,
    STATE,
    THREAD,
    WAIT_NAMES,
    WOKEN_CANCELLED,
    WOKEN_ERROR,
    Recording,
)

__all__ = ["Timeline", "Span", "round_late"]


@dataclass(frozen=True)
class Span:
    """One recorded row: a task, the caller (``Timeline(caller=...)``), a thread-safe
    callback, or an executor call.

    Times are seconds from the start of the Timeline.  ``slices`` are the (start, end) pairs during
    which it ran on its thread; ``state`` is ``"done"``, ``"cancelled"``, ``"error"``,
    ``"pending"`` (still unfinished when the Timeline ended) or ``"destroyed"`` (garbage-collected
    while pending).  For tasks, ``ready[k]`` is when slice k could have started (its step was
    scheduled: a timer fired, the future it awaited finished; for the first slice, its creation)
    and ``waits[k]`` what it waited for after slice k: ``"sleep"``, ``"sync"`` (a Lock, Event,
    Condition, Semaphore or Barrier), ``"queue"``, ``"task"`` (another task or a gather),
    ``"other"`` (I/O, an executor, any other future), ``"ready"`` (a bare yield) or ``""`` (it
    ended there).  ``marks`` are (time, what) events on the row: ``"timer due"`` (when a sleep
    was due, however late its timer ran), ``"cancel requested"`` (the future it awaited was
    cancelled: a CancelledError is on its way) and ``"exception thrown in"`` (the future it
    awaited failed).
    """

    name: str
    kind: str  # "task", "caller", "callback" or "executor"
    thread: str
    created: float
    slices: tuple[tuple[float, float], ...]
    end: float | None
    state: str
    error: str | None = None
    ready: tuple[float, ...] = ()
    waits: tuple[str, ...] = ()
    marks: tuple[tuple[float, str], ...] = ()

    @property
    def start(self) -> float:
        """When it first ran (its creation time if it never ran)."""
        return self.slices[0][0] if self.slices else self.created

    @property
    def running(self) -> float:
        """Total time it held its thread."""
        return sum(b - a for a, b in self.slices)


_WOKEN_MARKS = {WOKEN_CANCELLED: "cancel requested", WOKEN_ERROR: "exception thrown in"}


def round_late(value: float, ndigits: int = 0) -> float | int:
    """Round to ``ndigits`` (an int for 0, like ``round``), leaning early: a value counts as the
    step below until it is 3/4 of the way to the next.

    >>> round_late(5.7), round_late(5.74), round_late(5.76), round_late(0.34, 1)
    (5, 5, 6, 0.3)
    """
    steps = math.floor(max(value, 0.0) * 10**ndigits + 0.25)
    return steps if ndigits == 0 else steps / 10**ndigits


def _is_auto_name(name: str) -> bool:
    # asyncio names unnamed tasks Task-1, Task-2, ... from a process-wide counter, so the number
    # changes from run to run: such rows are labelled with their coroutine's name instead.
    return name.startswith("Task-") and name[5:].isdigit()


# --- the public recorder --------------------------------------------------------------------


def _task_extras(created: float, slices: list, waits: list, readies: list,
                 dues: list) -> tuple:
    """(ready, waits, marks) of a task row, from its slices and the events recorded for it."""
    ready, marks = [], []
    k = 0  # readies are in time order: walk them with the slices
    previous_start = previous_end = created
    for a, b in slices:
        when = None
        while k < len(readies) and readies[k][0] <= a:
            t, how = readies[k]
            # A bare yield (asyncio.sleep(0)) schedules the next step during the slice itself:
            # ready from the slice's end.
            if t >= previous_start:
                when = max(t, previous_end)
                if how in _WOKEN_MARKS:
                    marks.append((t, _WOKEN_MARKS[how]))
            k += 1
        ready.append(previous_end if when is None and not ready else
                     (when if when is not None else a))
        previous_start, previous_end = a, b
    marks.extend((t, "timer due") for t in dues)
    marks.sort()
    return tuple(ready), tuple(waits), tuple(marks)


class Timeline(Recording):
    """Records the tasks started inside ``async with Timeline() as tl:``; see the module docstring.

    A Timeline is used once.  Enter it inside a running event loop (a notebook cell, or a
    coroutine under ``asyncio.run``); results are read after the block: ``tl.spans``,
    ``tl.text()``, ``tl.plot()``.  ``Timeline(caller="main")`` also records the code of the
    ``async with`` block itself (the task that runs it) as a row of that name: when it ran, what
    it waited for, and how the block ended (``"error ..."`` if an exception left it).
    """

    def __init__(self, caller: str | None = None) -> None:
        if caller is not None and (not isinstance(caller, str) or not caller):
            raise TypeError(f"caller is the name of the row for the code inside the block, "
                            f"e.g. Timeline(caller='main'), not {caller!r}")
        super().__init__()
        self._caller_name = caller
        self._caller_task: weakref.ref | None = None
        self._caller_open = False  # its first slice (begun before the block) has not ended
        self._caller_fin: tuple | None = None
        self._spans: tuple[Span, ...] | None = None
        self._token = self._rec_token = None
        self._t0 = 0.0
        self._t_end = 0.0
        self._entered = False
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
        other = _probe._ACTIVE.get()
        if other is not None and not other._closed:
            raise RuntimeError("another Timeline is already recording here: "
                               "finish its `async with` block before starting a new one.")
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if self._caller_name is not None and task is None:
            raise RuntimeError("Timeline(caller=...) records the task that runs the block, "
                               "and this code runs in none: use Timeline() here.")
        self._entered = True
        _probe.install()
        self._token = _probe._ACTIVE.set(self)
        self._t0 = perf_counter()
        if self._caller_name is not None:
            i = self._caller = self._new_task(self._t0, self._caller_name, self._caller_name)
            self._thread[i] = threading.current_thread().name
            self._caller_task = weakref.ref(task)
            self._follow(task, i)  # its later steps are recorded as a task's
            self._loops.add(loop)
            # It is running now; its first slice ends when it first suspends, which is when the
            # loop gets to the next callback in its queue: this one.
            self._caller_open = True
            loop.call_soon(self._end_first_caller_slice)
        return self

    def _end_first_caller_slice(self) -> None:
        if not self._caller_open:
            return
        self._caller_open = False
        task = self._caller_task()
        self._add_caller_slice(self._t0, perf_counter(),
                               _probe.wait_kind(task) if task is not None else DONE)

    def _add_caller_slice(self, t0: float, t1: float, wait: int) -> None:
        self._s.extend((self._caller, t0, t1, wait))

    async def __aexit__(self, exc_type, exc, tb) -> None:
        self._t_end = perf_counter()
        self._closed = True
        if self._caller is not None:
            if self._caller_open:  # it never suspended inside the block
                self._caller_open = False
                self._add_caller_slice(self._t0, self._t_end, DONE)
            else:  # the step running now, up to here
                self._add_caller_slice(self._caller_t0, self._t_end, DONE)
            if exc_type is None:
                state, error = "done", None
            elif issubclass(exc_type, asyncio.CancelledError):
                state, error = "cancelled", None
            else:
                state, error = "error", _probe.short_repr(exc)
            self._caller_fin = (self._t_end, state, error)
        try:
            _probe._ACTIVE.reset(self._token)
        except ValueError:  # exited in another context than entered (e.g. awaited by hand)
            _probe._ACTIVE.set(None)
        try:
            self._settle()
        finally:
            _probe.uninstall()

    def _settle(self) -> None:
        """Stop following the tasks that are still running; name them while we still can."""
        for i, ref in self._unnamed:
            task = ref()
            name = _probe.task_name(task) if task is not None else None
            if name is not None:
                self._given[i] = name
        # Tasks that did not finish in a recorded step are still marked with their numbers
        # (the caller too): pending ones are in their loops' task sets.
        caller = self._caller_task() if self._caller_task is not None else None
        if caller is not None:
            self._unfollow(caller)
        pending: set[int] = set()
        tasks = len(self._created) - (self._caller is not None)
        for loop in self._loops if self._finished < tasks else ():
            for task in asyncio.all_tasks(loop):
                i = self._number_of(task)
                if i is None or i == self._caller:
                    continue
                self._unfollow(task)
                pending.add(i)
                self._unfinished.append(weakref.ref(task))
                self._lost.append((i, task.get_name(), "pending"))
                if self._thread[i] is None:  # never ran: it belongs to its loop's thread
                    self._thread[i] = _probe.loop_thread_name(loop)
        self._index = {}
        if self._finished + len(pending) < tasks:
            # Some are neither finished nor pending: garbage-collected while pending.
            # (Counted from the slices, as _finished may miss a count between threads.)
            s = self.column("_s")
            ended = {int(i) for i, w in zip(s[0::4], s[3::4], strict=True) if w < 0}
            for i in range(len(self._created)):
                if i not in ended and i not in pending and i != self._caller:
                    self._lost.append((i, None, "destroyed"))
        self._loops = set()

    def _freeze(self) -> tuple[Span, ...]:
        # Built on first use rather than on exit, so that recording stays cheap.
        t0 = self._t0
        n = len(self._created)
        slices: list[list[tuple[float, float]]] = [[] for _ in range(n)]
        waits: list[list[str]] = [[] for _ in range(n)]
        fin: list[tuple | None] = [None] * n  # (end, name, state, error)
        s = self.column("_s")
        for i, a, b, w in zip(s[0::4], s[1::4], s[2::4], s[3::4], strict=True):
            i, w = int(i), int(w)
            slices[i].append((a - t0, b - t0))
            waits[i].append(WAIT_NAMES.get(w, ""))
            if w < 0:  # its last slice: how it ended
                fin[i] = (b, None, END_NAMES[w], self._errors.get(i))
        readies: list[list[tuple[float, int]]] = [[] for _ in range(n)]
        r = self.column("_r")
        for i, t, k in zip(r[0::3], r[1::3], r[2::3], strict=True):
            readies[int(i)].append((t - t0, int(k)))
        dues: list[list[float]] = [[] for _ in range(n)]
        d = self.column("_d")
        for i, t in zip(d[0::2], d[1::2], strict=True):
            dues[int(i)].append(t - t0)
        for i, name, state in self._lost:
            fin[i] = (None, name, state, None)
        caller = self._caller
        if caller is not None:
            end, state, error = self._caller_fin
            fin[caller] = (end, self._caller_name, state, error)
        rows = []  # (created, name, auto, kind, thread, slices, end, state, error, extra)
        for i in range(n):
            end, name, state, error = fin[i] or (None, None, "pending", None)
            if name is None:  # the name it had at its first step, or was given
                name = self._given[i]
            auto = name is None or _is_auto_name(name)
            coro = (self._coro[i] or "task").rpartition("<locals>.")[2]
            created = self._created[i] - t0
            extra = _task_extras(created, slices[i], waits[i], readies[i], dues[i])
            rows.append((created, coro if auto else name, auto,
                         "caller" if i == caller else "task", self._thread[i],
                         tuple(slices[i]), None if end is None else end - t0, state, error,
                         extra))
        for rec in self._others:
            times = rec[FIELDS:]
            end = rec[END]
            rows.append((rec[CREATED] - t0, rec[NAME], False, rec[KIND], rec[THREAD],
                         tuple((times[k] - t0, times[k + 1] - t0)
                               for k in range(0, len(times), 2)),
                         None if end is None else end - t0,
                         rec[STATE] if end is not None else "pending", rec[ERROR], None))
        rows.sort(key=lambda r: r[0])
        # Number made-up names only where two rows would otherwise share one.
        seen: dict[str, int] = {}
        for r in rows:
            if r[2]:
                seen[r[1]] = seen.get(r[1], 0) + 1
        counter: dict[str, int] = {}
        spans = []
        for created, label, auto, kind, thread, sl, end, state, error, extra in rows:
            if auto and seen[label] > 1:
                counter[label] = counter.get(label, 0) + 1
                label = f"{label}#{counter[label]}"
            ready, wait_names, marks = extra or ((), (), ())
            spans.append(Span(name=label, kind=kind, thread=thread or "?", created=created,
                              slices=sl, end=end, state=state, error=error, ready=ready,
                              waits=wait_names, marks=marks))
        self._release_columns()
        return tuple(spans)

    def _release_columns(self) -> None:
        for name in ("_created", "_s", "_r", "_d", "_packed"):
            setattr(self, name, None)
        self._coro = self._given = self._thread = self._others = self._lost = []
        self._unnamed = []
        self._errors = {}

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
        return Timeline.from_spans((s for s in self.spans if keep(s)), self.duration)

    @classmethod
    def from_spans(cls, spans, duration: float) -> Timeline:
        """A finished Timeline holding ``spans`` over ``duration`` seconds: for rows recorded
        elsewhere (a child process's Timeline, sent back as data) or chosen from another one."""
        spans = tuple(spans)
        if not all(isinstance(s, Span) for s in spans):
            raise TypeError("from_spans() takes Span objects (tl.spans of another Timeline)")
        if not duration >= 0:
            raise ValueError(f"duration is in seconds, >= 0, not {duration!r}")
        view = cls()
        view._entered = view._closed = True
        view._t0, view._t_end = 0.0, float(duration)
        view._spans = spans
        return view

    def max_concurrency(self) -> int:
        """The largest number of spans that were started and unfinished at the same moment
        (the caller's row, which waits for them, does not count)."""
        events_ = []
        for s in self.spans:
            if s.kind == "caller":
                continue
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
            if s.kind in ("task", "caller") or s.end is None:
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

    def plot(self, title: str | None = None, *, unit: float = 1.0, xmax: float | None = None):
        """A matplotlib Figure: a row per span, grouped by thread (see ``timeline_plot``).
        ``xmax`` (in units) fixes the x axis, so that figures meant to be compared share it."""
        from .timeline_plot import plot_spans

        return plot_spans(self._ordered(self.spans), self.duration, title=title, unit=unit,
                          xmax=xmax)

    def show(self, unit: float = 1.0, ndigits: int = 1, title: str | None = None, *,
             xmax: float | None = None):
        """Print ``text(unit, ndigits)`` and draw ``plot()``: the usual last line of a cell.

        In a notebook the figure is displayed and None is returned, so that figures do not pile
        up in IPython's ``Out`` history (each keeps thousands of objects alive, and the garbage
        collector's pauses grow with them).  Elsewhere the Figure is returned.
        """
        print(self.text(unit, ndigits))
        from .notebook import display_or_return

        return display_or_return(self.plot(title, unit=unit, xmax=xmax))
