"""Reference solutions for notebooks/01_asyncio_in_jupyter.ipynb."""

import asyncio
from concurrent.futures import ThreadPoolExecutor


# Exercise 1.1: background tasks that finish inside the cell
async def cell(report):
    a = asyncio.create_task(report("a", 2), name="report a")
    b = asyncio.create_task(report("b", 3), name="report b")
    return [await a, await b]  # both run already; nothing is left running when we return


# Exercise 1.2: run a coroutine from plain code, in a cell and in a script
def run_sync(coro):
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)  # no loop in this thread (a script): the usual way
    # This thread's loop is busy running our caller (a notebook cell): give the coroutine a
    # new loop in a worker thread, and wait for it. The caller's loop is blocked meanwhile.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
