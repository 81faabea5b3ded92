"""Reference solutions for notebooks/10_loop_in_another_thread.ipynb.

Try the exercises first."""

import asyncio
from concurrent.futures import ThreadPoolExecutor


# Exercise 10.1: run coroutines on a loop thread from sync code, collect the results.
def run_all(lt, job, args):
    futures = [lt.submit(job(arg)) for arg in args]  # hand every job over first...
    return [future.result(timeout=1) for future in futures]  # ...then wait, in order


# Exercise 10.2: a time limit from the caller's side.
def result_or_none(lt, coro, timeout):
    future = lt.submit(coro)
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()  # result(timeout) only stopped waiting: this stops the task
        return None


# Exercise 10.3: shut a loop thread down cleanly, by hand.
def shut_down(loop, thread):
    async def finish_the_rest():
        me = asyncio.current_task()
        rest = [task for task in asyncio.all_tasks() if task is not me]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
        await loop.shutdown_asyncgens()
        await loop.shutdown_default_executor()

    asyncio.run_coroutine_threadsafe(finish_the_rest(), loop).result(timeout=1)
    loop.call_soon_threadsafe(loop.stop)  # stop from this thread: the thread-safe door
    thread.join()
    loop.close()


# Exercise 10.4: run a coroutine from plain code, in a cell and in a script.
def run_sync(coro):
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)  # no loop in this thread (a script): the usual way
    # This thread's loop is busy running our caller (a notebook cell): give the coroutine a
    # new loop in a worker thread, and wait for it. The caller's loop is blocked meanwhile.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
