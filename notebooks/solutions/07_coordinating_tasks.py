"""Reference solutions for notebooks/07_coordinating_tasks.ipynb.

Try the exercises first."""

import asyncio
import collections


# Exercise 7.1: a pool of workers behind a bounded queue (every Python from 3.11).
async def pipeline(jobs, work, workers, maxsize):
    queue = asyncio.Queue(maxsize)
    results = []

    async def worker():
        while True:
            job = await queue.get()
            try:
                results.append(await work(job))
            finally:
                queue.task_done()

    async with asyncio.TaskGroup() as tg:
        pool = [tg.create_task(worker()) for _ in range(workers)]
        async for job in jobs:
            await queue.put(job)  # waits while the queue is full
        await queue.join()  # every job done
        for task in pool:
            task.cancel()  # idle in get(); the group waits until they have ended
    return results
# (After join() every worker is idle in get(), so cancelling them loses nothing; this works
# on 3.11 and 3.12 too.  On 3.13+, shutdown() below ends them without a cancellation.)


# Exercise 7.1 on Python 3.13+: shutdown() ends each worker once the queue is empty.
async def pipeline_shutdown(jobs, work, workers, maxsize):
    queue = asyncio.Queue(maxsize)
    results = []

    async def worker():
        while True:
            try:
                job = await queue.get()
            except asyncio.QueueShutDown:
                return
            results.append(await work(job))

    async with asyncio.TaskGroup() as tg:
        for _ in range(workers):
            tg.create_task(worker())
        async for job in jobs:
            await queue.put(job)
        queue.shutdown()
    return results


# Exercise 7.2: one lock per key.
class Totals:
    def __init__(self, store):
        self.store = store
        self.locks = collections.defaultdict(asyncio.Lock)  # a new key gets a new Lock

    async def add(self, key, amount):
        async with self.locks[key]:  # only the adds of this key wait for each other
            total = await self.store.read(key)
            await self.store.write(key, total + amount)
