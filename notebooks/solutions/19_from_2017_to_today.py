"""Reference solutions for notebooks/19_from_2017_to_today.ipynb (try the exercises first)."""

import asyncio


# Exercise 19.1: the post's S3, ported to a TaskGroup.
async def main(task):
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(task(1)), tg.create_task(task(2)), tg.create_task(task(2))]
    return [t.result() for t in tasks]  # the block waited for all of them


# Exercise 19.2: the post's S7 (Ctrl+C), ported to asyncio.run.
PORTED_S7 = '''
import asyncio

UNIT = 0.2  # the post's 1 second (as in notebook 19's S7)


async def task(x):
    print('Waiting: ', x)
    try:
        await asyncio.sleep(x * UNIT)
    except asyncio.CancelledError:
        print('Cancelled: ', x)
        raise
    return 'Done after {}s'.format(x)


async def main():
    async with asyncio.TaskGroup() as tg:  # cancelling main cancels every task in it
        for x in (1, 2, 3):
            tg.create_task(task(x))


if __name__ == "__main__":
    try:
        asyncio.run(main())  # Ctrl+C: main is cancelled, its tasks too, then KeyboardInterrupt
    except KeyboardInterrupt:
        print('Interrupted')
'''


def ported_s7():
    return PORTED_S7
