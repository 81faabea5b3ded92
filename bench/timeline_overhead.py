"""How much does recording cost?  And how long does plot() take on 10,000 tasks?

    python bench/timeline_overhead.py [--tasks 100000] [--rounds 9]

Gathers N tasks that each do `await asyncio.sleep(0)`, bare and inside `Timeline()`, alternating
the two in one process (after a gc.collect() each) so both see the same machine state, and prints
the median of the per-round ratios recorded / bare.  Goal (issue 2): <= 1.15x.

Two ratios are printed: with the garbage collector on, as every program runs (the headline), and
with it off, which isolates the recorder's own CPU cost from the collector's (the recorder's
records are more objects for every collection to visit).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import statistics
import sys
import time

from aiocourse import Timeline


async def _gather(n: int) -> None:
    await asyncio.gather(*[asyncio.sleep(0) for _ in range(n)])


async def _bare(n: int) -> float:
    t = time.perf_counter()
    await _gather(n)
    return time.perf_counter() - t


async def _recorded(n: int) -> tuple[float, Timeline]:
    t = time.perf_counter()
    async with Timeline() as tl:
        await _gather(n)
    return time.perf_counter() - t, tl


async def _rounds(n: int, rounds: int) -> tuple[list[float], list[float], list[float]]:
    ratios, bare_times, rec_times = [], [], []
    for i in range(rounds):
        gc.collect()
        if i % 2:  # alternate which goes first, so neither always meets a fresh heap
            b = await _bare(n)
            gc.collect()
            r, tl = await _recorded(n)
        else:
            r, tl = await _recorded(n)
            gc.collect()
            b = await _bare(n)
        assert len(tl.spans) == n, "the recording lost tasks"
        del tl
        bare_times.append(b)
        rec_times.append(r)
        ratios.append(r / b)
        print(f"  round {i + 1}: bare {b:.3f} s, recorded {r:.3f} s, ratio {r / b:.3f}")
    return ratios, bare_times, rec_times


async def main(n: int, rounds: int) -> None:
    await _bare(1000)  # warm up
    print(f"{n:,} tasks of sleep(0), Python {sys.version.split()[0]}, {rounds} rounds each")
    summary = []
    for label, gc_on in (("gc on", True), ("gc off", False)):
        print(f"{label}:")
        if not gc_on:
            gc.disable()
        try:
            ratios, bare_times, rec_times = await _rounds(n, rounds)
        finally:
            gc.enable()
        bare, rec = statistics.median(bare_times), statistics.median(rec_times)
        summary.append(f"{label}: bare median {bare:.3f} s, recorded median {rec:.3f} s, "
                       f"median ratio {statistics.median(ratios):.3f}x, "
                       f"{(rec - bare) / n * 1e6:.2f} us more per task")
    print("\n".join(summary) + "  (goal: ratio <= 1.15x)")

    small = await _recorded(10_000)
    spans = small[1]
    t = time.perf_counter()
    fig = spans.plot()
    t_plot = time.perf_counter() - t
    t = time.perf_counter()
    fig.savefig(io.BytesIO(), format="png")
    t_draw = time.perf_counter() - t
    print(f"plot() on {len(spans.spans):,} tasks: building {t_plot:.3f} s, "
          f"rendering to PNG {t_draw:.3f} s")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=9)
    a = p.parse_args()
    asyncio.run(main(a.tasks, a.rounds))
