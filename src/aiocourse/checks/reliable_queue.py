"""Checks for notebook 14 (a reliable queue).

    from aiocourse.checks.reliable_queue import check_parse_job
    check_parse_job(parse_job)   # prints feedback, returns True or False

The stream checks talk to the notebook's private Redis (``start_redis()``) with keys of their
own, and judge what Redis holds afterwards (who owns which pending entry), not how long it took.
"""

from __future__ import annotations

import asyncio
import contextlib

import redis.asyncio as aioredis

from ..exercises import Exercise, NotDone
from ..queue.reliable import BadPayload
from ..redis_server import start_redis
from . import UNIT

__all__ = ["UNIT", "check_parse_job", "check_take_over"]


_GOOD = [(b"2", 2), (b"0", 0), (b"100", 100)]
_BAD = [b"abc", b"-3", b"101", b"99999999999999999999", b"\xff\xfe", b"", b"2.5", b" 2",
        "\u0663".encode(), b"x" * 1_000_000]


def check_parse_job(parse_job) -> bool:
    """Exercise 14.1: accept whole numbers 0..100, reject everything else with BadPayload."""
    ex = Exercise("14.1", "validate a payload")
    with ex.check():
        for data, expected in _GOOD:
            got = ex.call(parse_job, data)
            ex.expect(got == expected, f"{data!r} -> {expected}", got=got, stop=True)
        wrong = []
        for data in _BAD:
            try:
                got = ex.call(parse_job, data)
            except BadPayload as exc:
                if not exc.reason:
                    wrong.append(f"{data[:12]!r}: BadPayload without a reason")
            except (NotImplementedError, NotDone):
                raise
            except Exception as exc:
                wrong.append(f"{data[:12]!r}: {type(exc).__name__} instead of BadPayload")
            else:
                wrong.append(f"{data[:12]!r} was accepted as {got!r}")
        ex.expect(not wrong, "every bad payload raises BadPayload(reason)",
                  got="; ".join(wrong[:3]) + (" ..." if len(wrong) > 3 else ""),
                  hint="int() also accepts ' 2', '+2' and other scripts' digits: check the "
                       "bytes first (a regular expression such as rb'[0-9]+'), then the range")
    return ex.report()


async def check_take_over(take_over) -> bool:
    """Exercise 14.2: claim the jobs a dead consumer held for too long, and only those."""
    ex = Exercise("14.2", "take over a dead worker's jobs")
    server = start_redis()
    r = aioredis.Redis.from_url(server.url)
    stream, group = "check:jobs", "check"
    try:
        await r.delete(stream)
        await r.xgroup_create(stream, group, id="0", mkstream=True)
        for data in (b"a", b"b", b"c"):
            await r.xadd(stream, {"data": data})
        await r.xreadgroup(group, "ghost", {stream: ">"}, count=2)   # a, b: 'ghost' dies
        await asyncio.sleep(4 * UNIT)
        await r.xreadgroup(group, "ghost", {stream: ">"}, count=1)   # c: just delivered
        async with ex.attempt():
            got = await ex.run(take_over(r, stream, group, "me", int(2 * UNIT * 1000)),
                               timeout=1)
            ex.expect(isinstance(got, list), "returns a list of payloads",
                      got=type(got).__name__, stop=True)
            payloads = sorted(bytes(p) if isinstance(p, bytes | bytearray) else
                              str(p).encode() for p in got)
            ex.expect(payloads == [b"a", b"b"], "claims a and b (idle long enough), not c",
                      got=payloads, hint="r.xpending_range(stream, group, '-', '+', 100) lists "
                      "the held jobs with 'time_since_delivered'; r.xclaim(stream, group, me, "
                      "min_idle_ms, ids) returns [(id, fields), ...]: the payload is "
                      "fields[b'data']")
            owners = {}
            for p in await r.xpending_range(stream, group, "-", "+", 10):
                owners[p["consumer"].decode()] = owners.get(p["consumer"].decode(), 0) + 1
            ex.expect(owners == {"me": 2, "ghost": 1}, "after it, Redis lists a and b as "
                      "held by 'me', c still by 'ghost'", got=owners)
    finally:
        with contextlib.suppress(Exception):
            await r.delete(stream)
        await r.aclose()
    return ex.report()
