"""What does recording cost?  The Timeline, the Loop X-ray and VizTracer, side by side.

    python bench/timeline_overhead.py [--tasks 100000] [--rounds 9]     # or: make bench

Gathers N tasks that each do `await asyncio.sleep(0)`: bare, inside `Timeline()`, inside
`XRay()`, and under VizTracer with `log_async=True` (its asyncio view: a row per task; it
traces every Python call, which is its design, not a fault).  Each round runs every variant
once, in a rotated order, after a gc.collect(), so all see the same machine state; the median
of the per-round ratios (variant / bare of the same round) is printed.  VizTracer 1.1.1 keeps
the tasks it traced alive (its C buffer holds them: 3 objects a task, never freed), which
would grow this process's heap every round and with it every later run's collector time; so
each round runs it in a child process of its own, beside a bare run there, and its ratio is
the child's.  Goals (issue 18): the Timeline at or below 1.25x, and never above VizTracer.

Two blocks are printed: with the garbage collector on, as every program runs (the headline),
and off, which isolates the recorders' own CPU cost from the collector's.  Then the time of
plot() on 10,000 recorded tasks.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import os
import statistics
import sys
import tempfile
import time

from aiocourse import Timeline
from aiocourse.xray import XRay

try:
    from viztracer import VizTracer
except ImportError:  # no wheel for this Python (1.1.1 has none for 3.15)
    VizTracer = None


async def _gather(n: int) -> None:
    await asyncio.gather(*[asyncio.sleep(0) for _ in range(n)])


async def _bare(n: int) -> float:
    t = time.perf_counter()
    await _gather(n)
    return time.perf_counter() - t


async def _timeline(n: int) -> float:
    t = time.perf_counter()
    async with Timeline() as tl:
        await _gather(n)
    elapsed = time.perf_counter() - t
    assert len(tl.spans) == n, "the recording lost tasks"
    return elapsed


async def _xray(n: int) -> float:
    t = time.perf_counter()
    async with XRay() as xr:
        await _gather(n)
    elapsed = time.perf_counter() - t
    assert xr.all_iterations, "the X-ray saw no iteration"
    return elapsed


async def _viztracer(n: int) -> float:
    # Started and stopped around the same work; writing its trace file is not counted.
    tracer = VizTracer(log_async=True, verbose=0, tracer_entries=4_000_000)
    t = time.perf_counter()
    tracer.start()
    await _gather(n)
    tracer.stop()
    elapsed = time.perf_counter() - t
    tracer.clear()
    return elapsed


async def _child(n: int) -> None:
    # python timeline_overhead.py --child N: bare, VizTracer, VizTracer, bare (so that neither
    # gains from its place), then the sums of both.
    await _bare(n)  # warm up at full size: the first large run pays for fresh memory pages
    await _viztracer(1000)
    times = {_bare: 0.0, _viztracer: 0.0}
    for run in (_bare, _viztracer, _viztracer, _bare):
        gc.collect()
        times[run] += await run(n)
    print(times[_bare], times[_viztracer])


async def _viztracer_ratio(n: int) -> float:
    """VizTracer / bare, both in a new child process (see the module docstring)."""
    args = [sys.executable, os.path.abspath(__file__), "--child", str(n)]
    if not gc.isenabled():
        args.append("--gc-off")
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the VizTracer child failed (exit {proc.returncode})")
    bare, traced = map(float, out.split())
    return traced / bare


async def _rounds(n: int, rounds: int, variants: dict) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for i in range(rounds):
        order = names[i % len(names):] + names[:i % len(names)]  # rotate who goes first
        for name in order:
            gc.collect()
            times[name].append(await variants[name](n))
        line = ", ".join(f"{name} {times[name][-1]:.2f}x (child)" if name == "VizTracer" else
                         f"{name} {times[name][-1]:.3f} s" for name in names)
        print(f"  round {i + 1}: {line}", flush=True)
    return times


async def main(n: int, rounds: int) -> None:
    variants = {"bare": _bare, "Timeline": _timeline, "XRay": _xray}
    if VizTracer is not None:
        variants["VizTracer"] = _viztracer_ratio  # a ratio, measured in a child process
    for variant in variants.values():
        await variant(1000)  # warm up
    print(f"{n:,} tasks of sleep(0), Python {sys.version.split()[0]}, {rounds} rounds; "
          + ("VizTracer " + __import__("viztracer").__version__ if VizTracer else
             "VizTracer: not installed for this Python"))
    summary = []
    for label, gc_on in (("gc on", True), ("gc off", False)):
        print(f"{label}:")
        if not gc_on:
            gc.disable()
        try:
            times = await _rounds(n, rounds, variants)
        finally:
            gc.enable()
        bare = times["bare"]
        parts = [f"bare median {statistics.median(bare):.3f} s"]
        for name in variants:
            if name != "bare":
                ratios = times[name] if name == "VizTracer" else \
                    [t / b for t, b in zip(times[name], bare, strict=True)]
                parts.append(f"{name} {statistics.median(ratios):.2f}x")
        summary.append(f"{label}: " + ", ".join(parts))
    print("\n".join(summary))
    print("goals: Timeline <= 1.25x, and never above VizTracer")

    async with Timeline() as tl:
        await _gather(10_000)
    t = time.perf_counter()
    fig = tl.plot()
    t_plot = time.perf_counter() - t
    t = time.perf_counter()
    fig.savefig(io.BytesIO(), format="png")
    t_draw = time.perf_counter() - t
    print(f"plot() on {len(tl.spans):,} tasks: building {t_plot:.3f} s, "
          f"rendering to PNG {t_draw:.3f} s")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    p.add_argument("--gc-off", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    os.chdir(tempfile.gettempdir())  # VizTracer may write next to the working directory
    if a.child:
        if a.gc_off:
            gc.disable()
        asyncio.run(_child(a.child))
    else:
        asyncio.run(main(a.tasks, a.rounds))
