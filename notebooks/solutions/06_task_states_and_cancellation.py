"""Reference solutions for notebooks/06_task_states_and_cancellation.ipynb.

Try the exercises first.
"""

import asyncio


# Exercise 6.1: give up after `limit` seconds, and close the connection on every way out.
async def fetch_or_none(conn, limit):
    try:
        async with asyncio.timeout(limit):
            return await conn.read()
    except TimeoutError:  # only our own timeout: a CancelledError from outside goes on
        return None
    finally:  # after a result, a timeout or a cancellation
        await conn.close()


# Exercise 6.2: the save finishes even when the request is cancelled; the caller is not kept.
async def save_then_reply(db, record):
    await asyncio.shield(db.save(record))
    return "saved"
