"""Reference solutions for notebooks/02_coroutines_and_the_event_loop.ipynb."""

import asyncio


# Exercise 2.1: three steps, one after the other
async def make_tea(step):
    results = []
    for name, units in [("boil", 2), ("steep", 1), ("pour", 1)]:
        results.append(await step(name, units))
    return results


# Exercise 2.2: take turns with await asyncio.sleep(0)
async def worker(name, n, log):
    for i in range(n):
        log.append(f"{name}:{i}")
        await asyncio.sleep(0)  # give the loop a turn: the other worker runs its step now
