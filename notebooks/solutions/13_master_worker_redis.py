"""Reference solutions for notebooks/13_master_worker_redis.ipynb (try the exercises first)."""

import asyncio

UNIT = 0.1  # seconds, as in notebook 13


# Exercise 13.1: wait inside Redis instead of sleeping between polls.
def master_blocking(rcon, loop, stop, work):
    futures = []
    while True:
        item = rcon.brpop("queue", timeout=UNIT)  # None after a unit: time to look at stop
        if item is None:
            if stop.is_set():
                return futures
            continue
        _key, value = item
        futures.append(asyncio.run_coroutine_threadsafe(work(int(value)), loop))


# Exercise 13.2: a STOP item ends the loop; what comes after it stays in the queue.
def master_until_stop(rcon, loop, work):
    futures = []
    while True:
        # Not timeout=0 ("for ever"): redis-py stops waiting for an answer after its socket
        # timeout (5 s) and raises TimeoutError.  A short wait, then ask again.
        item = rcon.brpop("queue", timeout=UNIT)
        if item is None:
            continue
        _key, value = item
        if value == b"STOP":
            return futures
        futures.append(asyncio.run_coroutine_threadsafe(work(int(value)), loop))
