"""Checks for notebook 06 (task states and cancellation).

    from aiocourse.checks.task_states_and_cancellation import check_fetch_or_none
    await check_fetch_or_none(fetch_or_none)   # prints feedback, returns True or False

The checks hand each answer fakes they wrote themselves (a connection, a database) that log
when each read, save or cleanup started, ended or was cancelled (``fake.log``, an EventLog of
the referee), and compare that with what the answer did.  "At once" and "about N units" are
judged by the referee's beat.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Callable
from typing import Any

from ..exercises import Exercise
from ..notebook import caught_log
from . import UNIT
from .referee import EventLog, units

__all__ = ["UNIT", "Connection", "Database", "check_fetch_or_none", "check_save_survives"]


class Connection:
    """A fake network connection: ``await conn.read()`` answers ``"data"`` after ``delay`` units;
    ``await conn.close()`` takes one unit (it says goodbye to the server).

        conn = Connection(2, ex.ref.log)
        await conn.read()     # 'data', 2 units later
        await conn.close()
        conn.read_state, conn.closed    # ('done', True)

    ``read_state`` is None, ``"running"``, ``"done"`` or ``"cancelled"``; ``log`` gets "read",
    "read done", "read cancelled" and "closed" events.
    """

    def __init__(self, delay: int, log: EventLog | None = None) -> None:
        self.delay = delay
        self.log = log if log is not None else EventLog()
        self.read_state: str | None = None
        self.closed = False

    def __repr__(self) -> str:
        return f"<Connection read={self.read_state} closed={self.closed}>"

    async def read(self) -> str:
        if self.closed:
            raise ConnectionError("read() on a closed connection")
        self.read_state = "running"
        self.log.record("read")
        try:
            await asyncio.sleep(self.delay * UNIT)
        except asyncio.CancelledError:
            self.read_state = "cancelled"
            self.log.record("read cancelled")
            raise
        self.read_state = "done"
        self.log.record("read done")
        return "data"

    async def close(self) -> None:
        await asyncio.sleep(UNIT)
        self.closed = True
        self.log.record("closed")


async def check_fetch_or_none(answer: Callable[..., Any]) -> bool:
    """Exercise 6.1: ``await answer(conn, limit)`` returns ``await conn.read()``, or None when
    the read takes longer than ``limit`` seconds; ``await conn.close()`` runs in every case, also
    when the call is cancelled from outside, and that cancellation goes on to the caller."""
    ex = Exercise("6.1", "add a timeout and clean up")
    ref = ex.ref
    async with ex.attempt():
        quick = Connection(1, ref.log)
        result = await ex.run(answer(quick, 3 * UNIT), timeout=2)
        ex.expect(result == "data", "returns 'data' when the read is quick (1 unit, limit 3)",
                  got=result)
        ex.expect(quick.closed, "closes the connection after a quick read",
                  got="conn.closed is False", hint="`await conn.close()` in a `finally:` block "
                  "runs on every way out (close is a coroutine: await it)")

        slow = Connection(6, ref.log)
        result, run = await ex.timed(answer(slow, 2 * UNIT), timeout=2)
        ex.expect(result is None, "returns None when the read takes longer than the limit "
                  "(6 units, limit 2)", got=result,
                  hint="`async with asyncio.timeout(limit):` around the read, and "
                       "`except TimeoutError: return None`")
        ex.expect(not ex.slow(run, 3), "gives up at the limit: about 3 units (2, then 1 to "
                  "close), not 7", got=units(run.took))
        ex.expect(slow.read_state == "cancelled", "the slow read is cancelled, not left running",
                  got=f"read is {slow.read_state}")
        ex.expect(slow.closed, "closes the connection after a timeout", got="conn.closed is False",
                  hint="put `await conn.close()` in a `finally:` block")

        third = Connection(6, ref.log)
        task = asyncio.create_task(ex.coroutine(answer(third, 4 * UNIT)), name="fetch_or_none")
        await asyncio.sleep(UNIT)
        asked = ref.now()
        task.cancel()
        how, value, ended = await ref.outcome(task, 3)
        ex.expect(how == "cancelled", "when the caller cancels it (at 1 unit), the cancellation "
                  "goes on: the task ends cancelled",
                  got=f"it {how} {value!r}" if how != "running" else "still running",
                  hint="catch only TimeoutError; let CancelledError through (`finally:` cleans "
                       "up without stopping it)")
        ex.expect(third.closed, "closes the connection when cancelled from outside",
                  got="conn.closed is False", hint="`finally:` runs on cancellation too")
        ex.expect(not ref.since(asked, ended, 1), "stops at once: cancelled at 1 unit, done by 2 "
                  "(1 to close)", got=f"ended {units(ended - asked)} after the cancel")
    return ex.report()


def _answer(reply: weakref.ref) -> None:
    future = reply()
    if future is not None and not future.done():
        future.set_result(None)


class Database:
    """A fake database: ``await db.save(record)`` takes 3 units, then the record is in ``saved``.

    A save cancelled half-way is listed in ``cancelled`` and not saved.  The reply of the
    database arrives on a future that only the saving coroutine holds (its timer keeps a weak
    reference), so nothing but the program keeps the save's task alive, as with a task that
    waits on an Event nobody else refers to.  The loop keeps tasks only weakly: a save whose
    task nobody refers to is garbage-collected half-way, listed in ``lost``, and never saved.
    """

    def __init__(self, save_units: int = 3, log: EventLog | None = None) -> None:
        self.log = log if log is not None else EventLog()
        self.save_units = save_units
        self.saved: list[Any] = []
        self.cancelled: list[Any] = []
        self.lost: list[Any] = []

    def __repr__(self) -> str:
        return f"<Database saved={self.saved} cancelled={self.cancelled} lost={self.lost}>"

    async def save(self, record: Any) -> None:
        loop = asyncio.get_running_loop()
        reply = loop.create_future()
        timer = loop.call_later(self.save_units * UNIT, _answer, weakref.ref(reply))
        try:
            await reply
        except asyncio.CancelledError:
            timer.cancel()
            self.cancelled.append(record)
            raise
        except GeneratorExit:  # the collector closes the coroutine of a task nobody held
            self.lost.append(record)
            raise
        self.saved.append(record)

    async def settled(self, record: Any, timeout_units: float) -> None:
        """Wait until the save of ``record`` has ended one way or the other (or time is up)."""
        deadline = self.log.now() + timeout_units * UNIT
        while (record not in self.saved and record not in self.cancelled
               and record not in self.lost and self.log.now() < deadline):
            await asyncio.sleep(UNIT / 5)


async def check_save_survives(answer: Callable[..., Any]) -> bool:
    """Exercise 6.2: ``await answer(db, record)`` saves the record and returns ``"saved"``; when
    the call is cancelled, the save still completes, and the caller is cancelled at once.

    After the cancelled call has ended, the check drops it and collects garbage: the save's
    task survives only if the answer keeps a reference to it.  With
    ``await asyncio.shield(db.save(record))`` nothing does once the caller is gone (the shield
    lets go of the inner task when the caller is cancelled), and the save is lost.
    """
    ex = Exercise("6.2", "finish the save, release the caller")
    ref = ex.ref
    async with ex.attempt():
        db = Database(log=ref.log)
        result, run = await ex.timed(answer(db, "order 1"), timeout=2)
        ex.expect(result == "saved", "returns 'saved'", got=result)
        ex.expect(db.saved == ["order 1"], "saves the record", got=f"db.saved == {db.saved}")
        ex.expect(not ex.slow(run, 3), "takes about 3 units (one save)", got=units(run.took))

        db = Database(log=ref.log)
        # A task the answer leaves behind without a reference dies in the collector, and asyncio
        # then logs "Task was destroyed but it is pending!": kept here, not printed in red.
        with caught_log("asyncio"):
            task = asyncio.create_task(ex.coroutine(answer(db, "order 2")),
                                       name="save_then_reply")
            await asyncio.sleep(UNIT)
            asked = ref.now()
            task.cancel()
            how, value, ended = await ref.outcome(task, 4)
            ex.expect(how == "cancelled", "when the request is cancelled (at 1 unit), the "
                      "caller sees the cancellation: the task ends cancelled",
                      got=f"it {how} {value!r}" if how != "running" else "still running",
                      hint="don't catch CancelledError: `await asyncio.shield(...)` raises it "
                           "in the caller and leaves the inner work alone")
            ex.expect(how != "cancelled" or not ref.since(asked, ended, 0),
                      "the caller is released at once (at 1 unit), not when the save ends (3)",
                      got=f"released {units(ended - asked)} after the cancel",
                      hint="let the CancelledError out of `await asyncio.shield(...)` right away")
            # The caller's task is done: drop it (its error's traceback holds the answer's local
            # variables), then collect, as the interpreter may at any moment.
            del task, value
            gc.collect()
            await db.settled("order 2", 4)
        ex.expect("order 2" not in db.lost, "the save's task is kept alive until it ends (the "
                  "loop holds tasks only weakly)",
                  got="the save was garbage-collected half-way: nothing referred to its task "
                      "once the caller had gone",
                  hint="create the task yourself, `saving = asyncio.create_task(db.save(record))`, "
                       "keep it in a set at module level until it is done "
                       "(`saving.add_done_callback(that_set.discard)`), then "
                       "`await asyncio.shield(saving)`", stop=True)
        ex.expect(db.saved == ["order 2"], "the save still completes, at 3 units",
                  got="the save was cancelled" if db.cancelled else f"db.saved == {db.saved}",
                  hint="asyncio.shield(...) keeps the save running when the caller is cancelled")
    return ex.report()


