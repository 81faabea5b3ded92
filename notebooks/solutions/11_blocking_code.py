"""Reference solutions for notebooks/11_blocking_code.ipynb.

Try the exercises first."""

import asyncio


# Exercise 11.1: stop a blocking call from freezing the loop.
async def read_all(read, keys):
    return await asyncio.gather(*(asyncio.to_thread(read, key) for key in keys))


# Exercise 11.2: hand a result from a worker thread to the loop.
def make_on_done(loop, future):
    def on_done(value):
        loop.call_soon_threadsafe(future.set_result, value)

    return on_done
