"""How long does a job wait in Redis before a master takes it?  Polling against blocking.

    stats = measure_pickup(url, "poll", unit=0.05)    # RPOP, sleep one unit when empty
    stats = measure_pickup(url, "block", unit=0.05)   # BRPOP: Redis answers when a job arrives
    fig = plot_pickup({"RPOP + sleep": a, "BRPOP": b}, unit=0.05)

The producer pushes ``n`` jobs, each 1.15 to 1.85 units after the consumer took the previous
one.  The poller's one-unit sleeps start again at every job it takes, so each push lands at a
different moment of a sleep (spread evenly by the golden ratio, away from its ends), as a job
pushed at a random moment would: a poller makes it wait about half a unit on average.  Each job
carries the moment it was pushed, and the consumer notes when it got it.  Both sides are
threads of this process, so one clock (``time.perf_counter``) serves both.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass

import redis

from ..notebook import enable_figure_display

__all__ = ["PickupStats", "measure_pickup", "plot_pickup"]


@dataclass(frozen=True)
class PickupStats:
    mode: str
    latencies: tuple[float, ...]   # seconds, one per job
    calls: int                     # Redis requests the consumer made
    duration: float

    @property
    def median(self) -> float:
        return statistics.median(self.latencies)

    @property
    def worst(self) -> float:
        return max(self.latencies)

    def quantile(self, q: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))]


def measure_pickup(url: str, mode: str, *, unit: float = 0.05, n: int = 12,
                   key: str = "pickup") -> PickupStats:
    """Push ``n`` jobs to ``key`` and time how long each waited; ``mode`` is poll or block."""
    if mode not in ("poll", "block"):
        raise ValueError(f"mode is 'poll' (RPOP + sleep) or 'block' (BRPOP), not {mode!r}")
    producer = redis.Redis.from_url(url)
    consumer = redis.Redis.from_url(url)
    producer.delete(key)
    latencies: list[float] = []
    calls = 0
    taken = threading.Event()  # the consumer has taken the last job (or is ready for the first)
    last = [time.perf_counter()]  # when: the producer's schedule starts there, not when it woke

    def consume() -> None:
        nonlocal calls
        last[0] = time.perf_counter()
        taken.set()
        while len(latencies) < n:
            calls += 1
            if mode == "block":
                # A timeout below redis-py's socket timeout (5 s): with 0 ("for ever") the
                # client would give up first and raise TimeoutError on a quiet queue.
                got = consumer.brpop([key], timeout=1)
                if got is None:
                    continue
                item = got[1]
            else:
                item = consumer.rpop(key)
                if item is None:
                    time.sleep(unit)
                    continue
            last[0] = time.perf_counter()
            latencies.append(last[0] - float(item))
            taken.set()

    thread = threading.Thread(target=consume, name=f"pickup-{mode}")
    t0 = time.perf_counter()
    thread.start()
    try:
        for i in range(n):
            if not taken.wait(5 + 3 * unit):
                break  # the consumer is gone: reported below
            taken.clear()
            at = last[0] + unit * (1.15 + 0.7 * ((i * 0.618034) % 1))
            time.sleep(max(0.0, at - time.perf_counter()))
            producer.lpush(key, repr(time.perf_counter()))
    finally:
        thread.join(10 + 3 * unit)
        producer.close()
        consumer.close()
    if thread.is_alive():  # pragma: no cover - only if Redis vanished mid-measurement
        raise RuntimeError(f"the {mode} consumer did not get all {n} jobs")
    return PickupStats(mode, tuple(latencies), calls, time.perf_counter() - t0)


def plot_pickup(results: dict[str, PickupStats], unit: float = 0.05, title: str | None = None):
    """A matplotlib Figure: one row of dots per design, pickup latency on a log axis (ms)."""
    from matplotlib.figure import Figure

    enable_figure_display()
    fig = Figure(figsize=(8, 0.7 + 0.75 * len(results)), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    names = list(results)
    for row, name in enumerate(names):
        ms = [x * 1000 for x in results[name].latencies]
        y = len(names) - 1 - row
        ax.scatter(ms, [y] * len(ms), s=28, alpha=0.7, color="#1f5fa8")
        ax.plot([results[name].median * 1000] * 2, [y - 0.3, y + 0.3], color="#c62828", lw=2)
    ax.axvline(unit * 1000, color="#888888", ls="--", lw=0.8)
    ax.text(unit * 1000, len(names) - 0.45, f" one unit ({unit * 1000:g} ms)", fontsize=8,
            color="#444444", va="top")
    ax.set_xscale("log")
    ax.set_xlim(0.02, unit * 1000 * 3)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(list(reversed(names)))
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.set_xlabel("pickup latency, ms (log scale); red bar: median")
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title)
    return fig
