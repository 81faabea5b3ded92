"""Reference solutions for notebooks/04_wait_and_gather.ipynb (try the exercises first)."""

import asyncio


# Exercise 4.1: every result in the order asked, a failure in its place.
async def fetch_in_order(fetch, names):
    return await asyncio.gather(*(fetch(name) for name in names), return_exceptions=True)


# Exercise 4.2: fetch five pages, stop at the first failure.
async def stop_at_first_failure(fetch, names):
    tasks = {asyncio.create_task(fetch(name), name=name): name for name in names}
    done, pending = await asyncio.wait(list(tasks), return_when=asyncio.FIRST_EXCEPTION)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)  # cancel() only asks: wait until they have stopped
    results, failed = {}, None
    for task in tasks:  # the dict keeps the order of `names`
        if task not in done:
            continue
        if task.exception() is None:
            results[tasks[task]] = task.result()
        elif failed is None:
            failed = tasks[task]
    return results, failed


# Exercise 4.3: ask three mirrors, keep the fastest answer.
async def first_answer(fetch, mirrors):
    tasks = [asyncio.create_task(fetch(mirror)) for mirror in mirrors]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    return done.pop().result()
