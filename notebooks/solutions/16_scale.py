"""Reference solutions for notebooks/16_scale.ipynb (try the exercises first)."""

import asyncio


# Exercise 16.1: one future per distinct delay, one timer for each; the tasks await those.
async def few_timers(delays, done):
    loop = asyncio.get_running_loop()
    ready = {}
    for delay in set(delays):
        ready[delay] = loop.create_future()
        loop.call_later(delay, ready[delay].set_result, None)

    async def wait(i, future):
        await future
        done(i)

    await asyncio.gather(*(wait(i, ready[delay]) for i, delay in enumerate(delays)))


# Exercise 16.2: a fixed pool of worker tasks takes jobs from a queue.
async def worker_pool(jobs, work, workers):
    queue = asyncio.Queue()
    for index, job in enumerate(jobs):
        queue.put_nowait((index, job))
    results = [None] * len(jobs)

    async def worker():
        while not queue.empty():
            index, job = queue.get_nowait()
            results[index] = await work(job)

    async with asyncio.TaskGroup() as tg:
        for _ in range(workers):
            tg.create_task(worker())
    return results
