"""Reference solutions for 09_shutting_down_a_service.ipynb (try the exercises first)."""

import asyncio


# Exercise 9.1: wait for the jobs, at most until the deadline; cancel the rest and let them
# clean up.  asyncio.wait() refuses an empty set, and never raises a job's error.
async def drain(jobs, deadline):
    if not jobs:
        return set()
    _, pending = await asyncio.wait(jobs, timeout=deadline)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)  # cancel() only asks: wait for their cleanup
    return pending


# Exercise 9.2: the signal handlers only set state; the coroutine does the shutdown.  The jobs
# run in a TaskGroup, which waits for them all when the block ends; cancelling the task that
# takes jobs is no error of the group's.  (The check runs this function in a script of its own:
# what it needs beyond asyncio is imported inside.)
async def serve(next_job, handle, load_config):
    import signal

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    config = load_config()
    started = 0

    def reload():
        nonlocal config
        try:
            config = load_config()
        except (OSError, ValueError):  # a missing or broken file: keep the config we have
            pass

    async def take(group):
        nonlocal started
        while True:
            job = await next_job()
            group.create_task(handle(job, config))  # the config of the moment it was taken
            started += 1

    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload)
    # A TaskGroup keeps this short.  Its price: a handle() that raises cancels every job in
    # flight and ends the service.  A long-lived service keeps its jobs in a set instead and
    # drains them with asyncio.wait and a deadline, as in 9.2-9.3 and Exercise 9.1.
    try:
        async with asyncio.TaskGroup() as group:
            taking = group.create_task(take(group))
            await stop.wait()
            taking.cancel()  # take no new job; the group waits for the running ones
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        loop.remove_signal_handler(signal.SIGHUP)
    return started
