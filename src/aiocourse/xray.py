"""Loop X-ray: what the event loop did between your lines, one iteration at a time.

    async with XRay() as xr:
        await asyncio.gather(a(), b())
    print(xr.text(unit=0.05))      # the iterations, as facts: checked by nbval
    xr.plot(unit=0.05)             # the loop's own thread over time: selector waits, callbacks
    xr.explore(unit=0.05)          # in JupyterLab: step through the iterations with a slider

An asyncio loop repeats one iteration (``BaseEventLoop._run_once``): it asks the selector to
wait for I/O, at most until the next timer is due (not at all if callbacks are ready); it queues
the callbacks of the sockets that are ready and of the timers that are due; then it runs the
queue it has, in order, and only that.  For each iteration the X-ray keeps what the selector was
asked and how long it really waited, what woke it (a timer, I/O on which socket, a call from
another thread), the timers in the heap, the queue as the loop took it, and each callback it ran:
which task it resumed, and with what.

Only what the recorded code started is shown: tasks and callbacks created inside the block
(they carry its context).  A Jupyter kernel runs callbacks of its own on the same loop; they are
counted, not shown.  The loop itself is never modified: the selector's ``select`` is wrapped on
that one selector object while recording and the wrapper removed after, and the probe's class
wrappers (``aiocourse._probe``) see each callback.  Memory is bounded: the first
``max_iterations`` iterations are kept (with at most ``QUEUE_SHOWN`` entries of each queue and
``TIMERS_SHOWN`` timers), the rest only counted.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from dataclasses import dataclass
from time import perf_counter

from . import _probe
from ._probe import describe
from .timeline import round_late

__all__ = ["XRay", "Iteration", "Step"]

QUEUE_SHOWN = 12
TIMERS_SHOWN = 6
HELD_SHOWN = 2  # units: text() says a callback "held the thread" from this long on
STEPS_KEPT = 100  # callbacks kept per iteration; the rest are counted (Iteration.more)
_SLEEP_TIMER = _probe._sleep_timer

# Set in the context that enters an X-ray: tasks and callbacks made inside carry it; a callback
# handed over by call_soon_threadsafe carries _TS in its (copied) context.
_XR, _TS = _probe._XR, _probe._TS


@dataclass(frozen=True)
class Step:
    """One callback the loop ran: ``what`` it was (``"task A starts"``, ``"timer: sleep of A
    over"``...), its ``kind`` (``"task"``, ``"timer"``, ``"io"``, ``"threadsafe"``,
    ``"callback"``), the task it resumed (or None) and when it ran (seconds from the start)."""

    what: str
    kind: str
    task: str | None
    start: float
    end: float
    internal: bool = False  # a callback of asyncio's own plumbing (connection_made, ...)


@dataclass(frozen=True)
class Iteration:
    """One pass of the loop.  ``asked`` is the selector's timeout: 0 (callbacks were ready, do
    not wait), seconds until the next timer, or None (no timer: wait for I/O for ever);
    ``waited`` is how long it really waited; ``woke`` says what the recorded code got out of
    the wait; ``timers`` are (due in seconds from the select, what) of the heap at the select;
    ``queue`` is the queue as the loop took it (recorded code's entries, in order;
    ``queued`` counts them all, the kernel's included); ``steps`` are what it ran of them."""

    number: int
    began: float
    asked: float | None
    waited: float
    woke: str
    io: tuple[str, ...]
    timers: tuple[tuple[float, str], ...]
    queue: tuple[str, ...]
    queued: int
    steps: tuple[Step, ...]
    others: int  # callbacks run that the recorded code did not start (the kernel's)
    more: int = 0  # callbacks of ours run beyond the STEPS_KEPT kept
    overdue: bool = False  # asked 0 although nothing was ready: a timer was already due

    @property
    def ours(self) -> bool:
        """Whether the recorded code had anything in this iteration."""
        return bool(self.steps or self.queue)


class _Open:
    """The iteration being recorded (mutable until the next select)."""

    __slots__ = ("number", "began", "asked", "waited", "io_ids", "io", "timers", "queue",
                 "queued", "steps", "others", "more", "took_queue", "overdue")

    def __init__(self, number, began, asked, waited, io_ids, io, timers):
        self.number, self.began, self.asked, self.waited = number, began, asked, waited
        self.io_ids, self.io, self.timers = io_ids, io, timers
        self.queue: list[str] = []
        self.queued = 0
        self.steps: list[Step] = []
        self.others = 0
        self.more = 0
        self.took_queue = False
        self.overdue = False


class XRay:
    """Records the iterations of the running loop inside ``async with XRay() as xr:``.

    Use it once, inside the loop you want to see (in a loop thread: in a coroutine running on
    that loop).  Results are read after the block: ``xr.iterations``, ``xr.text()``,
    ``xr.plot()``, ``xr.explore()``.
    """

    def __init__(self, *, caller: str | None = None, max_iterations: int = 200) -> None:
        if not isinstance(max_iterations, int) or max_iterations < 1:
            raise ValueError(f"max_iterations must be a positive int, not {max_iterations!r}")
        if caller is not None and (not isinstance(caller, str) or not caller):
            raise TypeError(f"caller is the name shown for the task that runs the block, e.g. "
                            f"XRay(caller='main'), not {caller!r}")
        self.max_iterations = max_iterations
        self._caller_name = caller
        self._caller_task = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._selector = None
        self._t0 = 0.0
        self._t_end = 0.0
        self._done: list[Iteration] = []
        self._open: _Open | None = None
        self._count = 0
        self._current = None  # (iteration, what, kind, task, start) of the step running now
        self._token = None
        self._state = "new"  # new -> recording -> done

    def __repr__(self) -> str:
        if self._state != "done":
            return f"<XRay {self._state}>"
        return f"<XRay of {self._count} iterations ({len(self.iterations)} of them ours)>"

    def __enter__(self):
        raise TypeError("XRay watches an event loop: use `async with XRay() as xr:` inside a "
                        "coroutine or a notebook cell, not `with`.")

    def __exit__(self, *exc_info):  # pragma: no cover - __enter__ always raises
        return None

    async def __aenter__(self) -> XRay:
        if self._state != "new":
            raise RuntimeError(f"{self!r} was already used: create a new XRay() for each "
                               "recording.")
        loop = asyncio.get_running_loop()
        selector = getattr(loop, "_selector", None)
        if selector is None or not hasattr(selector, "select"):
            raise TypeError(f"XRay needs one of asyncio's own selector loops; this is "
                            f"{type(loop).__name__} (uvloop and the Windows proactor keep "
                            "their iteration in C or elsewhere)")
        if loop in _probe._xrays:
            raise RuntimeError("another XRay is already recording this loop: finish its "
                               "`async with` block first.")
        if "select" in vars(selector):
            raise RuntimeError("this loop's selector.select is already wrapped by someone "
                               "else: XRay will not stack on it")
        self._loop, self._selector = loop, selector
        if self._caller_name is not None:
            self._caller_task = asyncio.current_task()
        self._state = "recording"
        self._t0 = perf_counter()
        self._token = _XR.set(self)
        original = selector.select

        def select(timeout=None):
            # Runs on the loop's thread at the start of every iteration.
            began = perf_counter()
            timers = self._timers(loop) if self._keeping() else ()
            ready = len(loop._ready)  # 0 with timeout 0: a timer was already due
            events = original(timeout)
            waited = perf_counter() - began
            self._next_iteration(began, timeout, waited, events, timers, ready)
            return events

        selector.select = select  # on this selector object only; removed on exit
        _probe._xrays[loop] = self
        _probe.install()
        return self

    async def __aexit__(self, *exc_info) -> None:
        self._t_end = perf_counter()
        try:
            _XR.reset(self._token)
        except ValueError:
            _XR.set(None)
        _probe._xrays.pop(self._loop, None)
        try:
            del self._selector.select
        except AttributeError:  # pragma: no cover - removed by someone else
            pass
        _probe.uninstall()
        if self._current is not None:  # the step that ended the block, up to here
            o, what, kind, task, t0, internal = self._current
            self._current = None
            o.steps.append(Step(what, kind, task, t0 - self._t0, self._t_end - self._t0,
                                internal))
        self._close_open()
        self._caller_task = None
        self._state = "done"

    # --- recording (on the loop's thread) -----------------------------------------------------

    def _keeping(self) -> bool:
        return len(self._done) + (self._open is not None) < self.max_iterations

    def _timers(self, loop) -> tuple:
        now = loop.time()
        ours = [h for h in loop._scheduled if not h._cancelled and h._context.get(_XR) is self]
        ours.sort(key=lambda h: h._when)
        return tuple((h._when - now, self._timer_what(h)) for h in ours[:TIMERS_SHOWN])

    def _timer_what(self, handle) -> str:
        if handle._callback is _SLEEP_TIMER and handle._args:
            future = handle._args[0]
            for task in asyncio.all_tasks(self._loop):
                if getattr(task, "_fut_waiter", None) is future:
                    name = self._caller_name if task is self._caller_task and \
                        self._caller_name else _task_label(task)
                    return f"sleep of {name}"
            return "a sleep"
        return describe(handle._callback, handle._args)

    def _next_iteration(self, began, asked, waited, events, timers, ready=1) -> None:
        self._close_open()
        self._count += 1
        if not self._keeping():
            return
        io_ids, io = {}, []
        for key, mask in events:
            reader, writer = key.data if isinstance(key.data, tuple) else (None, None)
            for handle, bit, verb in ((reader, 1, "readable"), (writer, 2, "writable")):
                if handle is not None and mask & bit and handle._context.get(_XR) is self:
                    what = f"{_describe_fileobj(self._loop, key.fileobj)} {verb}"
                    io_ids[id(handle)] = what
                    io.append(what)
        self._open = _Open(self._count, began - self._t0, asked, waited, io_ids, tuple(io),
                           timers)
        self._open.overdue = asked == 0 and not ready

    def _close_open(self) -> None:
        o, self._open = self._open, None
        if o is None:
            return
        kinds = {s.kind for s in o.steps}
        if o.io:
            woke = "I/O: " + _counted(o.io)
        elif "timer" in kinds:
            woke = "a timer"
        elif "threadsafe" in kinds:
            woke = "a call from another thread"
        elif o.asked == 0:
            woke = "nothing: callbacks were ready"
        else:
            woke = "something else"
        self._done.append(Iteration(o.number, o.began, o.asked, o.waited, woke, o.io,
                                    o.timers, tuple(o.queue), o.queued, tuple(o.steps),
                                    o.others, o.more, o.overdue))

    def _run(self, handle, run) -> None:
        """Called by the probe for every callback of this loop, with the function running it."""
        o = self._open
        if o is None:
            run(handle)
            return
        ours = handle._context.get(_XR) is self
        if not o.took_queue:
            # The first callback of the iteration: the queue the loop took is this one and what
            # is still in loop._ready (nothing has been added to it yet in this iteration).
            o.took_queue = True
            rest = list(self._loop._ready)
            o.queued = 1 + len(rest)
            for h in [handle, *rest]:
                if h._context.get(_XR) is self and not h._cancelled:
                    if len(o.queue) < QUEUE_SHOWN:
                        o.queue.append(self._what(h, o)[0])
        if not ours:
            o.others += 1
            run(handle)
            return
        if len(o.steps) >= STEPS_KEPT:  # a long queue: count the rest, keep memory bounded
            o.more += 1
            run(handle)
            return
        what, kind, task = self._what(handle, o)
        internal = kind == "callback" and not what.startswith("gather: ") and \
            _is_internal(handle._callback)
        t0 = perf_counter()
        self._current = (o, what, kind, task, t0, internal)  # if the block ends in this step
        try:
            run(handle)
        finally:
            if self._current is not None:
                self._current = None
                o.steps.append(Step(what, kind, task, t0 - self._t0, perf_counter() - self._t0,
                                    internal))

    def _what(self, handle, o: _Open) -> tuple[str, str, str | None]:
        callback, args = handle._callback, handle._args
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, asyncio.Task):
            label = self._caller_name if owner is self._caller_task and self._caller_name \
                else _task_label(owner)
            if not args:
                how = "starts" if _not_started(owner) else "resumes"
            else:
                fut = args[0]
                try:
                    how = ("resumes with CancelledError" if fut.cancelled() else
                           "resumes with an exception" if fut.exception() is not None else
                           "resumes")
                except (AttributeError, asyncio.InvalidStateError):
                    how = "resumes with an exception"
            return f"{label} {how}", "task", label
        if id(handle) in o.io_ids:
            return f"I/O: {o.io_ids[id(handle)]}", "io", None
        if isinstance(handle, asyncio.TimerHandle):
            return f"timer: {self._timer_what(handle)} over", "timer", None
        if handle._context.get(_TS):
            return f"from another thread: {describe(callback, args)}", "threadsafe", None
        if args and isinstance(args[0], asyncio.Task):  # a done callback of a task
            name = getattr(callback, "__qualname__", "") or getattr(callback, "__name__", "")
            label = _task_label(args[0])
            if name.endswith("_done_callback"):  # gather's: it counts its children
                return f"gather: {label} finished", "callback", None
            return f"{name.rpartition('.')[2] or 'callback'}: {label} finished", "callback", None
        return describe(callback, args), "callback", None

    # --- results ----------------------------------------------------------------------------

    def _require_done(self) -> None:
        if self._state == "new":
            raise RuntimeError("this XRay has not recorded anything yet: use it as "
                               "`async with XRay() as xr:` first.")
        if self._state == "recording":
            raise RuntimeError("this XRay is still recording: read it after the `async with` "
                               "block has ended.")

    @property
    def iterations(self) -> tuple[Iteration, ...]:
        """The recorded iterations in which the recorded code had something."""
        self._require_done()
        return tuple(i for i in self._done if i.ours)

    @property
    def all_iterations(self) -> tuple[Iteration, ...]:
        """Every kept iteration, the kernel's own included."""
        self._require_done()
        return tuple(self._done)

    @property
    def duration(self) -> float:
        self._require_done()
        return self._t_end - self._t0

    def shown(self, detail: str = "lesson") -> tuple[Iteration, ...]:
        """The iterations a view shows.  ``"lesson"``: task steps, timers, I/O, calls from other
        threads and callbacks of your own code, without asyncio's internal callbacks (their
        number and order depend on timing), and iterations left with nothing are skipped;
        ``"all"``: every callback the recorded code started."""
        if detail not in ("lesson", "all"):
            raise ValueError(f"detail is 'lesson' or 'all', not {detail!r}")
        if detail == "all":
            return self.iterations
        kept = []
        for it in self.iterations:
            steps = tuple(s for s in it.steps if s.kind != "callback" or not s.internal)
            if steps:
                kept.append(Iteration(it.number, it.began, it.asked, it.waited, it.woke, it.io,
                                      it.timers, it.queue, it.queued, steps, it.others,
                                      it.more, it.overdue))
        return tuple(kept)

    def text(self, unit: float = 1.0, *, first: int = 12, detail: str = "lesson") -> str:
        """The first ``first`` iterations (of ``shown(detail)``), as facts: what the loop asked
        the selector (don't wait, wait for a timer, wait for I/O), what woke it, and what it
        ran, in order.  Times the loop scheduled (the timeout it asked for) are printed in
        units, and a callback that held the thread for HELD_SHOWN units or more says so; other
        durations are left to the figure and the explorer, since a busy machine moves them."""
        if not unit > 0:
            raise ValueError(f"unit must be a positive number of seconds, not {unit!r}")
        its = self.shown(detail)
        lines = []
        for n, it in enumerate(its[:first], 1):
            lines.append(f"{n:>2}. {_asked_text(it, unit)}")
            ran = []
            for s in it.steps:
                # Only a long hold is news: the operating system pauses a busy process for tens
                # of ms now and then, inside whatever callback runs.
                held = round_late((s.end - s.start) / unit)
                ran.append(s.what + (f" (held the thread {_units_text(held)})"
                                     if held >= HELD_SHOWN else ""))
            lines.append("    ran: " + " · ".join(ran)
                         + (f" · and {it.more} more" if it.more else ""))
        rest = len(its) - first
        lines.append(f"({len(its[:first])} of {len(its)} iterations that ran the recorded code"
                     + (f"; {rest} more not shown" if rest > 0 else "") + ")")
        return "\n".join(lines)

    def plot(self, unit: float = 1.0, *, first: int = 12, title: str | None = None,
             detail: str = "lesson"):
        """A strip of the first ``first`` iterations of ``shown(detail)``, a column each (see
        ``xray_view``)."""
        from .xray_view import plot_iterations

        return plot_iterations(self.shown(detail)[:first], unit=unit, title=title)

    def show(self, unit: float = 1.0, *, first: int = 12, title: str | None = None,
             detail: str = "lesson"):
        """Print ``text()`` and draw ``plot()``, as ``Timeline.show`` does."""
        print(self.text(unit, first=first, detail=detail))
        from .notebook import display_or_return

        return display_or_return(self.plot(unit, first=first, title=title, detail=detail))

    def explore(self, unit: float = 1.0, *, first: int = 50):
        """An interactive view for JupyterLab: a slider over the iterations, each shown with its
        selector wait, timers, queue and steps (ipywidgets)."""
        from .xray_view import explorer

        self._require_done()
        return explorer(self.iterations[:first], unit=unit)


def _is_internal(callback) -> bool:
    # A method of a transport or protocol of asyncio, a function of asyncio (a future's
    # plumbing): its own __module__, or that of the object it is bound to.
    while isinstance(callback, functools.partial):
        callback = callback.func
    owner = getattr(callback, "__self__", None)
    module = getattr(callback, "__module__", None) or (
        type(owner).__module__ if owner is not None else "")
    if owner is not None and not module.startswith("asyncio"):
        module = type(owner).__module__
    return module == "asyncio" or module.startswith(("asyncio.", "_asyncio"))


def _task_label(task: asyncio.Task) -> str:
    name = task.get_name()
    if name.startswith("Task-") and name[5:].isdigit():  # a counter: changes from run to run
        coro = task.get_coro()
        name = (getattr(coro, "__qualname__", None) or "task").rpartition("<locals>.")[2]
    return name


def _not_started(task: asyncio.Task) -> bool:
    coro = task.get_coro()
    return inspect.iscoroutine(coro) and inspect.getcoroutinestate(coro) == "CORO_CREATED"


def _describe_fileobj(loop, fileobj) -> str:
    # No port numbers or descriptor numbers: they change from run to run.
    import socket

    fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
    ssock = getattr(loop, "_ssock", None)
    if ssock is not None and fd == ssock.fileno():
        return "the loop's self-pipe"
    try:
        sock = socket.socket(fileno=fd)  # a view of the descriptor, detached below
    except OSError:
        return "a file descriptor"
    try:
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            return "a listening socket"
        try:
            sock.getpeername()
        except OSError:
            return "a socket"
        return "a TCP connection" if sock.type == socket.SOCK_STREAM else "a socket"
    except OSError:
        return "a file descriptor"
    finally:
        sock.detach()


def _counted(items: tuple[str, ...]) -> str:
    """ "a TCP connection writable ×4, a listening socket readable": each once, in order."""
    counts = dict.fromkeys(items, 0)
    for item in items:
        counts[item] += 1
    return ", ".join(item + (f" ×{n}" if n > 1 else "") for item, n in counts.items())


def _plural(n: float, word: str) -> str:
    """ "1 unit", "2.5 units", "3 callbacks": the text views' counts and durations."""
    return f"{n:g} {word}" + ("" if n == 1 else "s")


def _units_text(n: float) -> str:
    return _plural(n, "unit")


def _asked_text(it: Iteration, unit: float) -> str:
    if it.asked == 0:
        if it.overdue:
            return "did not wait: a timer was already due"
        return "did not wait: callbacks were ready"
    if it.asked is None:
        return f"waited for I/O (no timer in the heap); woken by {it.woke}"
    # The timeout is the next timer's due time minus now, a hair short of it: to the nearest.
    return (f"waited up to {_units_text(round(it.asked / unit, 1))} (the next timer); "
            f"woken by {it.woke}")
