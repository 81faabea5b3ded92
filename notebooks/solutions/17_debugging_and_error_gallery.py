"""Reference solutions for notebooks/17_debugging_and_error_gallery.ipynb (try it first)."""

import asyncio


# Exercise 17.1: call a blocking function without blocking the loop.
async def checksum_async(checksum, data):
    return await asyncio.to_thread(checksum, data)  # runs in a worker thread; the loop goes on


# Exercise 17.2: report every failure of a background task (a done callback).
def report_failure(task):
    if task.cancelled():  # task.exception() would raise CancelledError
        return
    exc = task.exception()  # reading it marks it as retrieved: no "never retrieved" log
    if exc is not None:
        print(f"{task.get_name()} failed: {exc!r}")


# Exercise 17.3: what is this task waiting for?
def await_chain(task):
    names = []
    coro = task.get_coro()
    while asyncio.iscoroutine(coro):  # a future or a task ends the walk; so does None
        names.append(coro.cr_code.co_name)
        coro = coro.cr_await
    return names
