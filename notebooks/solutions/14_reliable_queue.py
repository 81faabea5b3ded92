"""Reference solutions for notebooks/14_reliable_queue.ipynb (try the exercises first)."""

import re

from aiocourse.queue import BadPayload


# Exercise 14.1: a whole number of units from 0 to 100, or BadPayload saying what is wrong.
def parse_job(data: bytes) -> int:
    if not re.fullmatch(rb"[0-9]{1,3}", data):  # ASCII digits only: int() accepts more
        raise BadPayload(f"not a whole number from 0 to 100: {data[:20]!r}")
    n = int(data)
    if n > 100:
        raise BadPayload(f"too big: {n} units (at most 100)")
    return n


# Exercise 14.2: take over the jobs that nobody has touched for min_idle_ms.
async def take_over(r, stream, group, me, min_idle_ms):
    held = await r.xpending_range(stream, group, "-", "+", 100)
    stale = [p["message_id"] for p in held if p["time_since_delivered"] >= min_idle_ms]
    if not stale:
        return []
    # XCLAIM checks the idle time again: if another worker claimed one meanwhile, we skip it.
    claimed = await r.xclaim(stream, group, me, min_idle_ms, stale)
    return [fields[b"data"] for _id, fields in claimed]
