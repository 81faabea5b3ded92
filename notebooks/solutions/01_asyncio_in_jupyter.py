"""Reference solutions for notebooks/01_asyncio_in_jupyter.ipynb."""


# Exercise 1.1: the seed's code in a cell
async def cell(do_some_work):
    first = await do_some_work(1)  # was: loop.run_until_complete(do_some_work(1))
    second = await do_some_work(2)
    return [first, second]


# Exercise 1.2: the same code as a script
SCRIPT = '''
import asyncio


async def main():
    await asyncio.sleep(0.05)
    return "main is done"


if __name__ == "__main__":
    print(asyncio.run(main()))
'''
