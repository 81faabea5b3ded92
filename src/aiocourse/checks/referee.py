"""The referee of timed checks: one event log for the fakes, and a beat of the check's own.

    ref = Referee()
    fetch = ref.sleeper({"a": 3, "b": 1})      # a fake: sleeps, records start / end / ...
    async with ref.beating():                  # a timer of the check's own, every half unit
        result, took = await ref.run(ex, answer(fetch))
    ref.late(ref.log.last("end"), 3)           # True only if the loop, free to run timers,
                                               # ran the beat twice past 3.5 units first

An answer's time says little on a busy machine: a kernel slowed 3x by other programs, or paused
by the operating system, finishes late whatever the answer does.  So a check judges what cannot
move: the order of events, which overlapped, how many, on which thread (from the log and from
``ex.timeline``); and where "too slow" is the lesson, it asks the beat.  A paused or busy loop
runs no timer, the beat's included, so a pause does not count against the answer; a loop that
is free to run timers and still has no answer after the allowance is a slow answer.  Early is
never the machine's fault (a sleep is never early), so "not before" is judged on the clock.

The judgements are plain functions of times (``late``, ``overlapped``, ...), unit-tested on
made-up logs without sleeping (tests/test_referee.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from . import UNIT

__all__ = ["Event", "EventLog", "Referee", "Run", "late", "overlapped", "units", "BEATS"]

BEATS = 2  # how many beats past an allowance make "late": one could be the machine's hiccup


def units(seconds: float | None) -> str:
    """``2.4 units`` (one decimal), for a check's "got:" line; ``never`` for None."""
    return "never" if seconds is None else f"{seconds / UNIT:.1f} units"


@dataclass(frozen=True)
class Event:
    """Something a fake saw: ``what`` happened to ``key`` at ``t`` s (from the log's start), on
    ``thread``, in ``task`` (a task's name, or None outside tasks)."""

    t: float
    what: str
    key: Any = None
    thread: str = ""
    task: str | None = None
    data: Any = None


@dataclass
class EventLog:
    """What happened, in order, from any thread: the one recorder of the checks' fakes.

        log = EventLog()
        log.record("start", "page a")
        log.times("start")            # {'page a': 0.0001}
        log.running()                 # ['page a']: started, not ended
    """

    t0: float = field(default_factory=perf_counter)
    events: list[Event] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, what: str, key: Any = None, data: Any = None) -> Event:
        if not isinstance(what, str) or not what:
            raise TypeError(f"record() takes what happened as a word, e.g. 'start', "
                            f"not {what!r}")
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no loop in this thread
            task = None
        event = Event(perf_counter() - self.t0, what, key, threading.current_thread().name,
                      task.get_name() if task is not None else None, data)
        with self._lock:
            self.events.append(event)
        return event

    def now(self) -> float:
        """Seconds since the log started."""
        return perf_counter() - self.t0

    def of(self, *whats: str, key: Any = ...) -> list[Event]:
        """The events of these kinds (all kinds if none given), of ``key`` if given, in order."""
        with self._lock:
            events = list(self.events)
        return [e for e in events if (not whats or e.what in whats)
                and (key is ... or e.key == key)]

    def times(self, what: str) -> dict[Any, float]:
        """key -> when ``what`` first happened to it."""
        found: dict[Any, float] = {}
        for e in self.of(what):
            found.setdefault(e.key, e.t)
        return found

    def keys(self, what: str) -> list[Any]:
        """The keys ``what`` happened to, in the order it first happened."""
        return list(self.times(what))

    def first(self, what: str, key: Any = ...) -> float | None:
        events = self.of(what, key=key)
        return events[0].t if events else None

    def last(self, what: str, key: Any = ...) -> float | None:
        events = self.of(what, key=key)
        return events[-1].t if events else None

    def threads(self, what: str | None = None) -> list[str]:
        """The threads on which things (or ``what``) happened, sorted."""
        return sorted({e.thread for e in (self.of(what) if what else self.of())})

    def running(self, start: str = "start",
                ends: Sequence[str] = ("end", "error", "cancelled")) -> list[Any]:
        """Keys that had ``start`` and none of ``ends`` yet, in start order."""
        ended = {e.key for e in self.of(*ends)}
        return [k for k in self.keys(start) if k not in ended]

    def started_together(self, keys: Sequence[Any], start: str = "start",
                         ends: Sequence[str] = ("end", "error", "cancelled")) -> bool:
        """Whether every one of ``keys`` started before the first of them ended: at once, not
        one after another (a fact that a busy machine does not move)."""
        starts = self.times(start)
        if any(k not in starts for k in keys):
            return False
        ended = [e.t for e in self.of(*ends) if e.key in keys]
        return not ended or max(starts[k] for k in keys) < min(ended)

    def spans(self, start: str = "start",
              ends: Sequence[str] = ("end", "error", "cancelled")) -> dict[Any, tuple]:
        """key -> (start, end or None, how it ended or "running")."""
        found: dict[Any, tuple] = {}
        for e in self.of(start, *ends):
            if e.what == start:
                found.setdefault(e.key, (e.t, None, "running"))
            elif e.key in found and found[e.key][1] is None:
                found[e.key] = (found[e.key][0], e.t, e.what)
        return found


@dataclass(frozen=True)
class Run:
    """When an awaited answer started and ended (seconds on the referee's clock)."""

    start: float
    end: float

    @property
    def took(self) -> float:
        return self.end - self.start


# --- the judgements: plain functions of times -----------------------------------------------


def late(at: float | None, deadline: float, beats: Iterable[float], *,
         count: int = BEATS) -> bool:
    """Whether an event at ``at`` (None: it never came) missed ``deadline``: the beat ran
    ``count`` times after the deadline and before the event.  All in seconds from one start.

    >>> late(0.30, 0.20, [0.225, 0.25, 0.275])       # two beats ran in between: the loop was free
    True
    >>> late(0.30, 0.20, [0.1, 0.295])               # paused from 0.1 to 0.295: the machine's
    False
    """
    return sum(1 for b in beats if deadline < b and (at is None or b < at)) >= count


def overlapped(a: tuple[float, float | None], b: tuple[float, float | None]) -> bool:
    """Whether two (start, end) spans ran at the same time (an open end: still running)."""
    a_end = a[1] if a[1] is not None else float("inf")
    b_end = b[1] if b[1] is not None else float("inf")
    return a[0] < b_end and b[0] < a_end


# --- the referee: a log and a beat ---------------------------------------------------------


class Referee:
    """An event log and the check's own beat on the running loop (see the module docstring).

    Times are seconds from the referee's start, the same clock for the log and the beat.
    """

    def __init__(self, unit: float = UNIT) -> None:
        if not unit > 0:
            raise ValueError(f"unit must be a positive number of seconds, not {unit!r}")
        self.unit = unit
        self.log = EventLog()
        self.beats: list[float] = []  # when the beat ran
        self._handle: asyncio.TimerHandle | None = None
        self._beating = False

    def __repr__(self) -> str:
        return f"<Referee: {len(self.log.events)} events, {len(self.beats)} beats>"

    @contextlib.asynccontextmanager
    async def beating(self) -> AsyncIterator[Referee]:
        """Run the beat (a timer every half unit, rescheduled from when it really ran, so a
        pause is not made up for) while the block runs; it is stopped after, also on error."""
        if self._beating:
            raise RuntimeError(f"{self!r} is already beating: one beat per referee")
        loop = asyncio.get_running_loop()
        self._beating = True

        def beat() -> None:
            if not self._beating:
                return
            self.beats.append(self.log.now())
            self._handle = loop.call_later(self.unit / 2, beat)

        self._handle = loop.call_later(self.unit / 2, beat)
        try:
            yield self
        finally:
            self._beating = False
            if self._handle is not None:
                self._handle.cancel()
                self._handle = None

    def now(self) -> float:
        """Seconds since the referee started."""
        return self.log.now()

    def late(self, at: float | None, deadline_units: float, *, allowance: float = 0.5) -> bool:
        """Whether an event at ``at`` s came later than ``deadline_units`` units (plus
        ``allowance`` units), judged by the beat (see ``late()``)."""
        return late(at, (deadline_units + allowance) * self.unit, self.beats)

    def early(self, at: float | None, not_before_units: float, *,
              tolerance: float = 0.05) -> bool:
        """Whether an event came before ``not_before_units`` units: on the clock, since no
        sleep ends early (``tolerance`` units for the clock's own rounding)."""
        return at is not None and at < (not_before_units - tolerance) * self.unit

    def in_units(self, seconds: float | None) -> str:
        return units(seconds) if self.unit == UNIT else (
            "never" if seconds is None else f"{seconds / self.unit:.1f} units")

    def sleeper(self, delays: dict[Any, float], *, errors: dict[Any, BaseException] | None = None,
                result: Any = None):
        """A fake coroutine function: ``await fake(key)`` sleeps ``delays[key]`` units, then
        returns ``result(key)`` (default ``f"page {key}"``) or raises ``errors[key]``; a key not
        in ``delays`` raises KeyError at once.  It logs "start", then "end", "error" or
        "cancelled", with the key, in ``fake.log`` (its own EventLog, on this clock)."""
        errors = dict(errors or {})
        make = result if result is not None else (lambda key: f"page {key}")
        log = EventLog(t0=self.log.t0)  # its own, on the referee's clock: ``fake.log``

        async def fake(key):
            if key not in delays:
                raise KeyError(key)
            log.record("start", key)
            try:
                await asyncio.sleep(delays[key] * self.unit)
            except asyncio.CancelledError:
                log.record("cancelled", key)
                raise
            if key in errors:
                log.record("error", key)
                raise errors[key]
            log.record("end", key)
            return make(key)

        fake.log = log
        return fake

    def slow(self, run: Run, units_: float, *, allowance: float = 0.5) -> bool:
        """Whether ``run`` took longer than ``units_`` units (plus ``allowance``), judged by the
        beat: the beat ran twice past the deadline before the run ended."""
        return late(run.end, run.start + (units_ + allowance) * self.unit, self.beats)

    def since(self, start: float, at: float | None, units_: float, *,
              allowance: float = 0.5) -> bool:
        """Whether an event at ``at`` came more than ``units_`` units (plus ``allowance``) after
        ``start``, judged by the beat (None: it never came)."""
        return late(at, start + (units_ + allowance) * self.unit, self.beats)

    async def outcome(self, task: asyncio.Task, timeout_units: float) -> tuple[str, Any, float]:
        """Wait for ``task`` (at most ``timeout_units``); return how it ended ("returned",
        "raised", "cancelled" or "running"), its result or error, and when (referee seconds)."""
        await asyncio.wait([task], timeout=timeout_units * self.unit)
        at = self.now()
        if not task.done():
            return "running", None, at
        if task.cancelled():
            return "cancelled", None, at
        if task.exception() is not None:
            return "raised", task.exception(), at
        return "returned", task.result(), at

    async def run(self, ex: Any, awaitable: Any, timeout: float = 5.0) -> tuple[Any, Run]:
        """``ex.run(awaitable)`` between an "answer started" and an "answer returned" event:
        returns (result, Run).  A raised error is logged as "answer raised"."""
        start = self.log.record("answer started").t
        try:
            result = await ex.run(awaitable, timeout=timeout)
        except BaseException:
            self.log.record("answer raised")
            raise
        return result, Run(start, self.log.record("answer returned").t)
