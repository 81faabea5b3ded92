"""Reference solutions for notebooks/08_ctrl_c_and_shutdown.ipynb (try the exercises first)."""

import asyncio
import signal


# Exercise 8.1: Ctrl+C only sets a flag; the loop checks it before each new job.
async def serve(jobs, handle):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGINT, stop.set)  # Unix only; see 8.5 for Windows
    finished = []
    try:
        for job in jobs:
            if stop.is_set():
                break
            await handle(job)
            finished.append(job)
    finally:
        loop.remove_signal_handler(signal.SIGINT)  # Ctrl+C works as usual again
    return finished


# Exercise 8.2: cancel the jobs (only them), then wait until they have stopped.
async def stop_jobs(tasks):
    jobs = [task for task in tasks if task.get_name().startswith("job")]
    cancelled = [task for task in jobs if task.cancel()]  # False for a job already done
    if jobs:
        await asyncio.wait(jobs)  # cancel() only asks; wait() does not raise
    return len(cancelled)
