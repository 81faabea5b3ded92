"""Checks for notebook 07 (coordinating tasks: queues and synchronization primitives).

    from aiocourse.checks.coordinating_tasks import check_pipeline
    await check_pipeline(pipeline)   # prints feedback, returns True or False

Each answer gets fakes that the check wrote (a source of jobs, a ``work`` function, a slow
store), and they log what happened to the check's referee (``referee.EventLog``): when each job
was read, started and ended, in which task, and when the store read or wrote a key.  The checks
judge order and counts from that log: how many jobs ran at once, how far the producer read ahead
of the workers, whether two additions to one key interleaved, whether additions to two keys
overlapped.  No wall-clock duration is compared with a constant.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from ..exercises import Exercise
from ..notebook import our_tasks
from . import UNIT
from .referee import EventLog, Referee, overlapped

__all__ = ["UNIT", "Store", "check_pipeline", "check_totals", "peak", "read_ahead"]


# --- what the log says (plain functions, tested on made-up logs) ------------------------------


def peak(log: EventLog, start: str = "start", ends: tuple[str, ...] = ("end", "cancelled")) -> int:
    """The largest number of ``start`` events not yet followed by an end of the same key."""
    running: set[Any] = set()
    most = 0
    for e in log.of(start, *ends):
        if e.what == start:
            running.add(e.key)
            most = max(most, len(running))
        else:
            running.discard(e.key)
    return most


def read_ahead(log: EventLog) -> int:
    """The most jobs that had been read from the source and not yet started, at any moment."""
    read = started = most = 0
    for e in log.of("read", "start"):
        if e.what == "read":
            read += 1
            most = max(most, read - started)
        else:
            started += 1
    return most


def _left_running(before: set[asyncio.Task]) -> list[asyncio.Task]:
    """Tasks made since ``before`` that are not done (the kernel's own excluded)."""
    return [t for t in our_tasks(asyncio.all_tasks() - before) if not t.done()]


# --- Exercise 7.1 -----------------------------------------------------------------------------


async def _one_pipeline(ex: Exercise, answer: Callable[..., Any], n_jobs: int, workers: int,
                        maxsize: int) -> dict[str, Any]:
    """Run the answer once on ``n_jobs`` jobs; return what the log says about it."""
    ref = Referee()
    log = ref.log

    async def jobs() -> AsyncIterator[int]:
        for i in range(n_jobs):
            log.record("read", i)
            yield i

    async def work(job: int) -> str:
        log.record("start", job, data=id(asyncio.current_task()))
        try:
            await asyncio.sleep(UNIT)
        except asyncio.CancelledError:
            log.record("cancelled", job)
            raise
        log.record("end", job)
        return f"result {job}"

    before = set(asyncio.all_tasks())
    source = jobs()
    try:
        result, _ = await ref.run(ex, answer(source, work, workers, maxsize), timeout=3)
        left = _left_running(before)
    finally:
        await source.aclose()
    case = f"workers={workers}, maxsize={maxsize}, {n_jobs} jobs"
    if not isinstance(result, list):
        ex.expect(False, "returns a list of results", got=f"{type(result).__name__} ({case})",
                  stop=True)
    return {"case": case, "workers": workers, "maxsize": maxsize, "left": len(left),
            "complete": sorted(result, key=str) == sorted(f"result {i}" for i in range(n_jobs)),
            "results": len(result), "jobs": n_jobs, "peak": peak(log), "ahead": read_ahead(log),
            "tasks": len({e.data for e in log.of("start")})}


def _first(runs: list[dict[str, Any]], wrong: Callable[[dict[str, Any]], bool],
           got: Callable[[dict[str, Any]], str]) -> tuple[bool, str]:
    """(no run is wrong, what the first wrong run got, with its case)."""
    bad = [r for r in runs if wrong(r)]
    return not bad, (f"{got(bad[0])} ({bad[0]['case']})" if bad else "")


async def check_pipeline(answer: Callable[..., Any]) -> bool:
    """Exercise 7.1: ``await answer(jobs, work, workers, maxsize)`` runs ``workers`` tasks on a
    bounded queue that a producer fills from the async iterator ``jobs``; it returns every
    result and leaves no task running.  Tried with (3 workers, maxsize 2) and (2, 1)."""
    ex = Exercise("7.1", "a pool of workers behind a bounded queue")
    async with ex.attempt():
        runs = [await _one_pipeline(ex, answer, n, w, m) for n, w, m in ((12, 3, 2), (7, 2, 1))]
        judged = [
            (lambda r: not r["complete"], lambda r: f"{r['results']} results for {r['jobs']} jobs",
             "the result of every job, once",
             "collect what `await work(job)` returns in each worker, and return only after "
             "every job is done (queue.join(), or wait for the workers)"),
            (lambda r: r["peak"] > r["workers"], lambda r: f"{r['peak']} at once",
             "never more than `workers` jobs at once",
             "only the worker tasks call work(), one job at a time each"),
            (lambda r: r["peak"] < r["workers"], lambda r: f"at most {r['peak']} at once",
             "`workers` jobs at once, one per worker",
             "start all the workers before waiting for any of them"),
            (lambda r: r["tasks"] > r["workers"], lambda r: f"in {r['tasks']} different tasks",
             "the jobs run in `workers` worker tasks",
             "a pool: each worker takes job after job from the queue, instead of a new task "
             "per job"),
            (lambda r: r["ahead"] > r["maxsize"] + 1,
             lambda r: f"{r['ahead']} jobs read and not started",
             "the producer reads at most maxsize + 1 jobs ahead of the workers",
             "put each job into an asyncio.Queue(maxsize) with `await queue.put()`: it waits "
             "while the queue is full"),
            (lambda r: r["left"] > 0, lambda r: f"{r['left']} task(s) still running",
             "none of your tasks still running when it returns",
             "the workers wait in get() for ever: queue.shutdown() (3.13+), one stop item per "
             "worker, or cancel them after queue.join(); then wait until they have ended "
             "(a TaskGroup does)"),
        ]
        for wrong, got, what, hint in judged:
            ok, shown = _first(runs, wrong, got)
            ex.expect(ok, what, got=shown, hint=hint)
    return ex.report()


# --- Exercise 7.2 -----------------------------------------------------------------------------


class Store:
    """A slow key-value store: ``await store.read(key)`` (0 for a new key) and ``await
    store.write(key, value)`` take a unit each, and log "read" / "write" when they start.

        store = Store()
        await store.write("a", 5)
        await store.read("a")     # 5
    """

    def __init__(self, log: EventLog | None = None) -> None:
        self.log = log if log is not None else EventLog()
        self.values: dict[Any, Any] = {}

    def __repr__(self) -> str:
        return f"<Store {self.values}>"

    async def read(self, key: Any) -> Any:
        self.log.record("read", key)
        value = self.values.get(key, 0)
        await asyncio.sleep(UNIT)
        return value

    async def write(self, key: Any, value: Any) -> None:
        self.log.record("write", key)
        await asyncio.sleep(UNIT)
        self.values[key] = value
        self.log.record("written", key)


def sections(log: EventLog) -> dict[Any, list[tuple[float, float | None]]]:
    """key -> the (read, written) spans of its additions, in order: each from a read to the end
    of the next write of that key (None while unwritten)."""
    found: dict[Any, list[tuple[float, float | None]]] = {}
    for e in log.of("read", "written"):
        spans = found.setdefault(e.key, [])
        if e.what == "read":
            spans.append((e.t, None))
        else:
            for k, (a, b) in enumerate(spans):
                if b is None:
                    spans[k] = (a, e.t)
                    break
    return found


def interleaved(log: EventLog) -> dict[Any, str]:
    """key -> what the store saw for it ("read, read, write, ...") where two additions to it
    overlapped: a read came before the write that follows the previous read."""
    bad = {}
    for key in dict.fromkeys(e.key for e in log.of("read", "write")):
        seq = [e.what for e in log.of("read", "write", key=key)]
        if any(a == b for a, b in zip(seq, seq[1:], strict=False)):
            bad[key] = ", ".join(seq)
    return bad


ADDS = [("a", 1), ("b", 10), ("a", 2), ("c", 100), ("b", 20), ("a", 3)]


async def check_totals(answer: Callable[..., Any]) -> bool:
    """Exercise 7.2: ``answer(store)`` makes an object whose ``await add(key, amount)`` adds to a
    total in the store; many adds at once lose nothing, and adds to different keys overlap."""
    ex = Exercise("7.2", "one lock per key")
    store = Store()
    expected: dict[str, int] = {}
    for key, amount in ADDS:
        expected[key] = expected.get(key, 0) + amount
    async with ex.attempt():
        totals = ex.call(answer, store)
        add = getattr(totals, "add", None)
        if not callable(add):
            ex.expect(False, "an object with an add(key, amount) method",
                      got=type(totals).__name__, stop=True)

        async def all_at_once() -> None:
            calls = [asyncio.create_task(_call(add, key, amount), name=f"add {key} {amount}")
                     for key, amount in ADDS]
            await asyncio.gather(*calls)

        await ex.run(all_at_once(), timeout=3)
        got = dict(sorted(store.values.items()))
        ex.expect(got == expected, f"no addition lost: totals {expected}", got=got,
                  hint="a read, an await, then a write: other adds of that key run in between. "
                       "Hold an asyncio.Lock from before the read to after the write, one lock "
                       "kept in self for all adds of a key (a new Lock per call locks nothing)")
        bad = interleaved(store.log)
        ex.expect(not bad, "the adds of one key take turns: read, write, read, write",
                  got="; ".join(f"{k!r}: {v}" for k, v in bad.items()))
        spans = sections(store.log)
        together = any(overlapped(x, y) for k1 in spans for k2 in spans if k1 < k2
                       for x in spans[k1] for y in spans[k2])
        ex.expect(together, "adds of different keys run at the same time",
                  got="one add at a time, whatever the key",
                  hint="one lock for every key makes them all wait in line; keep one Lock per "
                       "key, e.g. in a dict (collections.defaultdict(asyncio.Lock))")
    return ex.report()


async def _call(add: Callable[..., Any], key: str, amount: int) -> None:
    result = add(key, amount)
    if not asyncio.iscoroutine(result):
        raise TypeError(f"add({key!r}, {amount}) returned {type(result).__name__}, not a "
                        "coroutine: define it with `async def`")
    await result
