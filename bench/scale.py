"""How far does one event loop go?  Time and memory for 10^3 ... 10^6 waiting tasks, and threads.

    python bench/scale.py                                  # every variant, 10^3 ... 10^6
    python bench/scale.py --sizes 1000,10000 --variants gather,threads
    python bench/scale.py --python /path/to/python3.12 --python /path/to/python3.13

Each task waits for one unit (0.05 s) and returns, the way a task waits for a network answer.
Every (Python, variant, size) runs in a fresh child process, so that its peak RSS (VmHWM) is its
own: "memory" is that peak minus the RSS before the tasks were made ("B/task": divided by N).
"µs/task" is the time beyond the one unit of waiting, divided by N; "gc s" is the time the
cyclic garbage collector ran (gc.callbacks).  The phases are: create (every task object
exists), start (every task ran to its first await), finish (the wake-ups, until gather
returns).  Variants a Python cannot run (eager tasks before 3.12, uvloop where it is not
installed) are skipped: the other Pythons may have no packages at all.

Variants:
  gather      asyncio.gather(*coros), each coroutine awaits asyncio.sleep(UNIT)   (the baseline)
  taskgroup   the same tasks created in an asyncio.TaskGroup
  batched     created in batches of 10,000 with `await asyncio.sleep(0)` in between
  gc-off      gather, with the garbage collector off while the tasks exist
  future      one shared future, set by one loop.call_later(UNIT): no timer per task
  future+gc-off, future+gc-off+eager (3.12+), uvloop, future+gc-off+uvloop
  threads     N threads wait for one threading.Event (up to --max-threads)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time

UNIT = 0.05
BATCH = 10_000
SIZES = (1_000, 10_000, 100_000, 1_000_000)
VARIANTS = ("gather", "taskgroup", "batched", "gc-off", "future", "future+gc-off",
            "future+gc-off+eager", "uvloop", "future+gc-off+uvloop", "threads")
# Only these run on the other Pythons (--python): the comparison that matters, in less time.
OTHER_VARIANTS = ("gather", "gc-off", "future+gc-off", "future+gc-off+eager")


# --- the child: one measurement --------------------------------------------------------------


def _status_kib(field: str) -> int:
    """VmRSS / VmHWM of this process in KiB (Linux); ru_maxrss elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS


class _GcClock:
    """Adds up the time the cyclic garbage collector runs, and counts its collections."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._t = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._t
            self.collections += 1


async def _tasks(variant: str, n: int, marks: dict[str, float]) -> None:
    loop = asyncio.get_running_loop()
    if "eager" in variant:
        loop.set_task_factory(asyncio.eager_task_factory)
    shared = "future" in variant
    ready = loop.create_future()

    async def wait_shared() -> None:
        await ready

    async def sleep_one_unit() -> None:
        await asyncio.sleep(UNIT)

    work = wait_shared if shared else sleep_one_unit
    if "gc-off" in variant:
        gc.disable()
    try:
        if variant == "taskgroup":
            async with asyncio.TaskGroup() as tg:
                for _ in range(n):
                    tg.create_task(work())
                marks["create"] = time.perf_counter()
                await asyncio.sleep(0)
                marks["start"] = time.perf_counter()
            return
        if variant == "batched":
            tasks = []
            for i in range(0, n, BATCH):
                tasks.extend(loop.create_task(work()) for _ in range(min(BATCH, n - i)))
                await asyncio.sleep(0)  # let this batch start before making the next
            marks["create"] = marks["start"] = time.perf_counter()
            await asyncio.gather(*tasks)
            return
        # gather() wraps each coroutine in a task (what most code does)
        waiting = asyncio.gather(*(work() for _ in range(n)))
        marks["create"] = time.perf_counter()
        await asyncio.sleep(0)  # every task runs to its first await
        marks["start"] = time.perf_counter()
        if shared:
            loop.call_later(UNIT, ready.set_result, None)
        await waiting
    finally:
        if "gc-off" in variant:
            gc.enable()


def _threads(n: int, marks: dict[str, float]) -> str | None:
    go = threading.Event()
    started: list[threading.Thread] = []
    error = None
    try:
        for _ in range(n):
            t = threading.Thread(target=go.wait, daemon=True)
            t.start()
            started.append(t)
    except RuntimeError as exc:  # "can't start new thread": the limit of this machine
        error = f"{exc} after {len(started):,} threads"
    marks["create"] = marks["start"] = time.perf_counter()
    time.sleep(UNIT)
    go.set()
    for t in started:
        t.join()
    return error


def child(variant: str, n: int) -> dict:
    result: dict = {"variant": variant, "n": n, "python": platform.python_version()}
    if "eager" in variant and not hasattr(asyncio, "eager_task_factory"):
        return dict(result, skipped="eager tasks need Python 3.12+")
    runner = asyncio.run
    if "uvloop" in variant:
        try:
            import uvloop
        except ImportError:
            return dict(result, skipped="uvloop is not installed")
        runner = uvloop.run
        result["uvloop"] = uvloop.__version__
    clock = _GcClock()
    gc.callbacks.append(clock)
    base = _status_kib("VmRSS")
    marks: dict[str, float] = {}
    t0 = time.perf_counter()
    if variant == "threads":
        error = _threads(n, marks)
        if error:
            result["error"] = error
    else:
        runner(_tasks(variant, n, marks))
    t_end = time.perf_counter()
    gc.callbacks.remove(clock)
    peak = _status_kib("VmHWM")
    result.update(
        seconds=t_end - t0,
        create=marks.get("create", t_end) - t0,
        start=marks.get("start", t_end) - marks.get("create", t_end),
        finish=t_end - marks.get("start", t_end),
        gc_seconds=clock.seconds, gc_collections=clock.collections,
        memory_mib=(peak - base) / 1024, bytes_per_task=(peak - base) * 1024 / n,
    )
    return result


# --- the parent: every measurement in its own process -----------------------------------------


def measure(python: str, variant: str, n: int, timeout: float) -> dict:
    cmd = [python, os.path.abspath(__file__), "--child", variant, str(n)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:  # run() kills the child
        return {"variant": variant, "n": n, "error": f"still running after {timeout:g} s"}
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return {"variant": variant, "n": n, "error": f"exit {out.returncode}: {tail}"}
    return json.loads(lines[-1])


HEADER = (f"{'python':8} {'variant':22} {'N':>9} {'time s':>8} {'µs/task':>8} {'create':>7} "
          f"{'start':>7} {'finish':>7} {'gc s':>7} {'memory':>10} {'B/task':>7}")


def row(r: dict) -> str:
    head = f"{r.get('python', '?'):8} {r['variant']:22} {r['n']:>9,}"
    if "skipped" in r:
        return f"{head}  skipped: {r['skipped']}"
    if "seconds" not in r:
        return f"{head}  failed: {r['error']}"
    per_task = max(r["seconds"] - UNIT, 0.0) / r["n"] * 1e6  # beyond the one unit of waiting
    line = (f"{head} {r['seconds']:8.2f} {per_task:8.1f} {r['create']:7.2f} "
            f"{r['start']:7.2f} {r['finish']:7.2f} {r['gc_seconds']:7.2f} "
            f"{r['memory_mib']:6.0f} MiB {r['bytes_per_task']:7.0f}")
    return line + (f"  ({r['error']})" if "error" in r else "")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default=",".join(map(str, SIZES)),
                   help="comma-separated task counts (default: 10^3 ... 10^6)")
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated")
    p.add_argument("--max-threads", type=int, default=10_000,
                   help="largest N tried with threads (default 10,000)")
    p.add_argument("--python", action="append", default=[],
                   help="another interpreter to compare (repeatable; stdlib variants only, at "
                        "the largest size)")
    p.add_argument("--timeout", type=float, default=600, help="seconds per measurement")
    p.add_argument("--thread-timeout", type=float, default=120,
                   help="seconds per threads measurement (waking 10,000 threads that wait on "
                        "one Event took 5 s in some runs and more than 8 minutes in others)")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs per measurement; the fastest is shown (the least disturbed by "
                        "whatever else the machine was doing)")
    p.add_argument("--child", nargs=2, metavar=("VARIANT", "N"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(child(a.child[0], int(a.child[1]))))
        return 0

    sizes = [int(s) for s in a.sizes.split(",")]
    variants = [v for v in a.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        p.error(f"unknown variants {sorted(unknown)}; choose from {', '.join(VARIANTS)}")
    print(f"{platform.platform()}, {os.cpu_count()} CPUs; each task waits {UNIT:g} s; "
          f"started {time.strftime('%Y-%m-%d %H:%M')}")
    print(HEADER, flush=True)
    plan = [(sys.executable, v, n) for v in variants for n in sizes
            if v != "threads" or n <= a.max_threads]
    plan += [(py, v, max(sizes)) for py in a.python for v in OTHER_VARIANTS if v in variants]
    results = []
    for python, variant, n in plan:
        timeout = a.thread_timeout if variant == "threads" else a.timeout
        runs = [measure(python, variant, n, timeout) for _ in range(max(a.repeat, 1))]
        r = min(runs, key=lambda r: r.get("seconds", float("inf")))
        results.append(r)
        print(row(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
