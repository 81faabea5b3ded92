"""Reference solutions for notebooks/03_tasks_and_futures.ipynb."""

import asyncio


# Exercise 3.1: three jobs at the same time, results in order
async def fetch_all(fetch, jobs):
    tasks = [asyncio.create_task(fetch(name, units), name=name) for name, units in jobs]
    return [await task for task in tasks]  # all run already: awaiting in order only collects


# Exercise 3.2: await a value that a callback delivers
async def wait_for_callback(subscribe):
    fut = asyncio.get_running_loop().create_future()
    subscribe(fut.set_result)  # the callback completes the future with the value
    return await fut


# Exercise 3.3: keep fire-and-forget tasks alive
def fire(coro, running):
    task = asyncio.create_task(coro)
    running.add(task)  # a strong reference: the loop keeps only a weak one
    task.add_done_callback(running.discard)  # forget it once it is done
    return task
