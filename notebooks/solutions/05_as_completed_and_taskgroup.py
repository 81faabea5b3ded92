"""Reference solutions for notebooks/05_as_completed_and_taskgroup.ipynb.

Try the exercises first."""

import asyncio


# Exercise 5.1: handle each page as soon as it arrives.
async def handle_as_ready(fetch, names, handle):
    arrived = []
    for next_page in asyncio.as_completed([fetch(name) for name in names]):
        page = await next_page
        handle(page)
        arrived.append(page)
    return arrived


# Exercise 5.2: all pages, or a report of the missing ones, with a TaskGroup.
async def all_or_report(fetch, names):
    missing = []
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(fetch(name)) for name in names]
    except* KeyError as group:
        # `return` is not allowed inside `except*`: note what happened, return below.
        missing = sorted(str(e.args[0]) for e in group.exceptions)
    if missing:
        return "missing: " + ", ".join(missing)
    return [task.result() for task in tasks]
