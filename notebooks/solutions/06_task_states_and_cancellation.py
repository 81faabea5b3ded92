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
# The loop holds tasks only weakly: once the caller has gone, this set is what keeps a save alive.
saves_in_progress = set()


async def save_then_reply(db, record):
    saving = asyncio.create_task(db.save(record))
    saves_in_progress.add(saving)
    saving.add_done_callback(saves_in_progress.discard)  # let go once it has ended
    await asyncio.shield(saving)  # a cancel stops this await, not the save
    return "saved"
