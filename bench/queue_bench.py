"""Jobs per second and idle pickup latency: the post's master-worker against the reliable queue.

    python bench/queue_bench.py [--jobs 100000] [--samples 200] [--url redis://...]

One run, on a private redis-server (or --url / REDIS_URL).  "Trivial jobs" do no work: the
handler parses the payload and returns it, so the figures measure the queue, not the jobs.

- End to end: a producer pushes N jobs in pipelined batches of 1,000 while the consumer runs;
  the clock stops when the last result is stored (reliable) or the last job's coroutine has
  finished (the post's design: it stores nothing).  The producer runs in a process of its own,
  as it would in production, so the consumer has a core.
- Idle pickup: with the consumer idle, push one job, note when the handler starts; repeat with
  irregular gaps.  p50 and p99 over the samples.

Goals (issue 6): reliable >= 20,000 jobs/s on the 2-core CI machine; idle pickup p50 <= 2 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import multiprocessing
import os
import statistics
import sys
import threading
import time

import redis

from aiocourse.loop_thread import LoopThread
from aiocourse.queue import JobQueue, Worker, connect
from aiocourse.redis_server import RedisServer

BATCH = 1000
POLL = 0.05  # the post's design, with the course's unit instead of its 1 s


# --- the producer, in its own process -----------------------------------------------------


def _produce(url: str, n: int, mode: str, start: multiprocessing.Event) -> None:
    r = redis.Redis.from_url(url)
    start.wait()
    for i in range(0, n, BATCH):
        pipe = r.pipeline(transaction=False)
        for _ in range(min(BATCH, n - i)):
            if mode == "list":
                pipe.lpush("queue", "0")
            else:
                pipe.xadd("jobs", {"data": "0"})
        pipe.execute()
    r.close()


def _producer(url: str, n: int, mode: str):
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    proc = ctx.Process(target=_produce, args=(url, n, mode, go), daemon=True)
    proc.start()
    time.sleep(0.5)  # let it import and connect before the clock starts
    return proc, go


# --- the post's design --------------------------------------------------------------------


async def _noop(x: int) -> int:
    return x


def legacy_throughput(url: str, n: int) -> float:
    rcon = redis.Redis.from_url(url)
    rcon.delete("queue")
    proc, go = _producer(url, n, "list")
    futures: list[concurrent.futures.Future] = []
    with LoopThread(name="workers") as lt:
        t0 = time.perf_counter()
        go.set()
        while len(futures) < n:
            task = rcon.rpop("queue")
            if not task:
                time.sleep(POLL)
                continue
            futures.append(asyncio.run_coroutine_threadsafe(_noop(int(task)), lt.loop))
        concurrent.futures.wait(futures)
        elapsed = time.perf_counter() - t0
    proc.join()
    rcon.close()
    return n / elapsed


def legacy_pickup(url: str, samples: int) -> list[float]:
    rcon = redis.Redis.from_url(url)
    pusher = redis.Redis.from_url(url)
    rcon.delete("queue")
    started: list[float] = []
    pushed: list[float] = []

    async def job(x: int) -> None:
        started.append(time.perf_counter())

    with LoopThread(name="workers") as lt:
        def master() -> None:
            handed = 0
            while handed < samples:
                task = rcon.rpop("queue")
                if not task:
                    time.sleep(POLL)
                    continue
                asyncio.run_coroutine_threadsafe(job(int(task)), lt.loop)
                handed += 1

        thread = threading.Thread(target=master)
        thread.start()
        for i in range(samples):
            time.sleep(POLL * (1 + (i * 0.618034) % 1))
            pushed.append(time.perf_counter())
            pusher.lpush("queue", "0")
        thread.join()
        while len(started) < samples:
            time.sleep(0.01)
    rcon.close()
    pusher.close()
    return [s - p for s, p in zip(started, pushed, strict=True)]


# --- the reliable queue -------------------------------------------------------------------


async def _parse(data: bytes) -> bytes:
    int(data)
    return data


async def reliable_throughput(url: str, n: int, concurrency: int) -> tuple[float, object]:
    r = await connect(url)
    queue = JobQueue(r, "jobs")
    await queue.reset()
    proc, go = _producer(url, n, "stream")
    worker = Worker(queue, _parse, name="bench", concurrency=concurrency)
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.1)
    t0 = time.perf_counter()
    go.set()
    while worker.stats.done < n:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - t0
    worker.stop()
    stats = await task
    assert await r.hlen(queue.results_key) == n, "results lost"
    await asyncio.to_thread(proc.join)
    await r.aclose()
    return n / elapsed, stats


async def reliable_pickup(url: str, samples: int) -> list[float]:
    r = await connect(url)
    queue = JobQueue(r, "pickup")
    await queue.reset()
    started: list[float] = []

    async def note(data: bytes) -> bytes:
        started.append(time.perf_counter())
        return data

    worker = Worker(queue, note, name="idle")
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.1)
    # The producer is another client, as in production; its XADD is timed from just before
    # the call, so the figure includes the round trip to Redis and the wake-up of the worker.
    pusher = redis.Redis.from_url(url)
    pushed: list[float] = []

    def produce() -> None:
        for i in range(samples):
            time.sleep(0.002 + 0.008 * ((i * 0.618034) % 1))
            pushed.append(time.perf_counter())
            pusher.xadd("pickup", {"data": "0"})

    await asyncio.to_thread(produce)
    while len(started) < samples:
        await asyncio.sleep(0.01)
    worker.stop()
    await task
    pusher.close()
    await r.aclose()
    return [s - p for s, p in zip(started, pushed, strict=True)]


def _ms(xs: list[float]) -> str:
    xs = sorted(xs)
    p50 = statistics.median(xs) * 1000
    p99 = xs[min(len(xs) - 1, int(0.99 * len(xs)))] * 1000
    return f"p50 {p50:7.2f} ms, p99 {p99:7.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--legacy-jobs", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--url", default=os.environ.get("REDIS_URL"))
    args = parser.parse_args()
    server = RedisServer(url=args.url) if args.url else RedisServer()
    with server:
        version = redis.Redis.from_url(server.url).info()["redis_version"]
        print(f"Python {sys.version.split()[0]}, redis-py {redis.__version__}, "
              f"{os.cpu_count()} CPUs, Redis {version}")
        rate = legacy_throughput(server.url, args.legacy_jobs)
        print(f"post's design  end to end: {rate:9,.0f} jobs/s  ({args.legacy_jobs:,} jobs)")
        rate, stats = asyncio.run(reliable_throughput(server.url, args.jobs, args.concurrency))
        print(f"reliable queue end to end: {rate:9,.0f} jobs/s  ({args.jobs:,} jobs, "
              f"concurrency {args.concurrency}, {stats.flushes:,} MULTI flushes = "
              f"{args.jobs / max(stats.flushes, 1):.0f} jobs per flush)")
        n = max(20, args.samples // 5)
        print(f"post's design  idle pickup: {_ms(legacy_pickup(server.url, n))}  "
              f"({n} samples, RPOP + sleep {POLL * 1000:g} ms; the post's 1 s sleep: x20)")
        print(f"reliable queue idle pickup: "
              f"{_ms(asyncio.run(reliable_pickup(server.url, args.samples)))}  "
              f"({args.samples} samples, XREADGROUP BLOCK)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
