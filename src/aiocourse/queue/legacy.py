"""The seed post's master-worker (S11), runnable from a terminal, with a way to stop it.

    python -m aiocourse.queue legacy --url redis://127.0.0.1:PORT/0
    redis-cli -u redis://127.0.0.1:PORT/0 lpush queue 2      # in another terminal

The main thread is the master: it polls the Redis list ``queue`` with ``RPOP`` and sleeps one
unit when it is empty; each item goes to a loop in another thread with
``asyncio.run_coroutine_threadsafe``, where ``do_some_work`` sleeps that many units.  The post's
``while True`` became ``while not stop.is_set()``; Ctrl+C sets it too, and the jobs already
handed over finish before ``run_master`` returns.  Notebook 13 builds the same thing in cells.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..loop_thread import LoopThread
from .reliable import RedisUnavailable

__all__ = ["do_some_work", "run_master"]


async def do_some_work(x: int, unit: float = 1.0, log: Callable[[str], None] = print) -> int:
    log(f"Waiting {x}")
    await asyncio.sleep(x * unit)
    log(f"Done {x}")
    return x


def run_master(url: str, *, unit: float = 1.0, key: str = "queue",
               stop: threading.Event | None = None,
               log: Callable[[str], None] = print) -> int:
    """Poll ``key`` until ``stop`` is set (or Ctrl+C); returns how many jobs ran."""
    stop = stop or threading.Event()
    # No retries while connecting: a missing Redis is reported at once, not after ~4 s.
    rcon = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2,
                                retry=Retry(NoBackoff(), 0))
    try:
        rcon.ping()
    except redis.RedisError as exc:
        rcon.close()
        raise RedisUnavailable(f"no Redis answered at {url}: {exc}. Start one with "
                               "`python -m aiocourse.queue server`.") from None
    futures: list[concurrent.futures.Future] = []
    with LoopThread(name="workers") as lt:
        try:
            while not stop.is_set():
                task = rcon.rpop(key)
                if not task:
                    time.sleep(unit)
                    continue
                try:
                    x = int(task)
                except ValueError:  # the post would crash here; we say so and go on
                    log(f"skipped {task!r}: not a number")
                    continue
                futures.append(asyncio.run_coroutine_threadsafe(do_some_work(x, unit, log),
                                                                lt.loop))
        except KeyboardInterrupt:
            log(f"stopping: waiting for {sum(not f.done() for f in futures)} running job(s)")
        concurrent.futures.wait(futures)
    rcon.close()
    return len(futures)
