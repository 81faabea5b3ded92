"""The checks of notebook 06 accept the reference solutions and reject typical mistakes."""

from __future__ import annotations

import asyncio
import gc

import pytest
from checks_support import load_solution as _load
from checks_support import run_check

from aiocourse.checks import task_states_and_cancellation as checks
from aiocourse.checks.task_states_and_cancellation import UNIT, Connection, Database
from aiocourse.notebook import caught_log

SOL06 = _load("06_task_states_and_cancellation")


async def template(*args):
    raise NotImplementedError


# --- the fakes --------------------------------------------------------------------------------


def test_connection_and_database_record_what_happened():
    async def main():
        conn = Connection(1)
        assert await conn.read() == "data"
        assert conn.read_state == "done" and not conn.closed
        await conn.close()
        assert conn.closed and conn.log.keys("closed") == [None]
        with pytest.raises(ConnectionError):
            await conn.read()

        slow = Connection(10)
        task = asyncio.create_task(slow.read())
        await asyncio.sleep(UNIT)
        task.cancel()
        await asyncio.wait([task])
        assert slow.read_state == "cancelled"
        assert [e.what for e in slow.log.of()] == ["read", "read cancelled"]

        db = Database(save_units=1)
        await db.save("a")
        task = asyncio.create_task(db.save("b"))
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.wait([task])
        await db.settled("b", 1)
        assert db.saved == ["a"] and db.cancelled == ["b"]
        assert "saved=['a']" in repr(db) and "closed=True" in repr(conn)

    asyncio.run(main())


# --- 6.1 --------------------------------------------------------------------------------------


async def no_timeout(conn, limit):
    try:
        return await conn.read()
    finally:
        await conn.close()


async def swallows_cancel(conn, limit):
    try:
        async with asyncio.timeout(limit):
            return await conn.read()
    except (TimeoutError, asyncio.CancelledError):
        return None
    finally:
        await conn.close()


async def closes_on_timeout_only(conn, limit):
    try:
        async with asyncio.timeout(limit):
            data = await conn.read()
    except TimeoutError:
        await conn.close()
        return None
    await conn.close()
    return data


async def close_not_awaited(conn, limit):
    try:
        async with asyncio.timeout(limit):
            return await conn.read()
    except TimeoutError:
        return None
    finally:
        conn.close()  # the coroutine is created and dropped: the connection stays open


def test_fetch_or_none_accepts_solution(capsys):
    ok, out = run_check(checks.check_fetch_or_none, SOL06.fetch_or_none, capsys)
    assert ok, out


@pytest.mark.parametrize("answer, complaint", [
    (no_timeout, "gives up at the limit"),
    (swallows_cancel, "the task ends cancelled"),
    (closes_on_timeout_only, "closes the connection when cancelled from outside"),
])
def test_fetch_or_none_rejects(answer, complaint, capsys):
    ok, out = run_check(checks.check_fetch_or_none, answer, capsys)
    assert not ok and complaint in out, out


def test_fetch_or_none_rejects_a_close_not_awaited(capsys):
    with pytest.warns(RuntimeWarning, match="never awaited"):
        ok, out = run_check(checks.check_fetch_or_none, close_not_awaited, capsys, quiet=False)
    assert not ok and "close is a coroutine: await it" in out, out


def test_fetch_or_none_template_is_not_done(capsys):
    ok, out = run_check(checks.check_fetch_or_none, template, capsys)
    assert not ok and "not done yet" in out


def test_fetch_or_none_wants_an_async_function(capsys):
    ok, out = run_check(checks.check_fetch_or_none, lambda conn, limit: "data", capsys)
    assert not ok and "an async function" in out, out


# --- 6.2 --------------------------------------------------------------------------------------


async def no_shield(db, record):
    await db.save(record)
    return "saved"


async def shield_swallowed(db, record):
    try:
        await asyncio.shield(db.save(record))
    except asyncio.CancelledError:
        pass
    return "saved"


async def shield_then_wait(db, record):
    inner = asyncio.ensure_future(db.save(record))
    try:
        await asyncio.shield(inner)
    except asyncio.CancelledError:
        await inner  # finishes the save, but keeps the cancelled caller waiting
        raise
    return "saved"


async def shield_keeps_no_reference(db, record):
    await asyncio.shield(db.save(record))  # once the caller is cancelled, nothing holds the save
    return "saved"


async def shield_local_reference(db, record):
    saving = asyncio.create_task(db.save(record))  # a local: gone with the caller
    await asyncio.shield(saving)
    return "saved"


def test_save_survives_accepts_solution(capsys):
    ok, out = run_check(checks.check_save_survives, SOL06.save_then_reply, capsys)
    assert ok, out
    assert not SOL06.saves_in_progress  # the solution lets go of each save once it has ended


@pytest.mark.parametrize("answer", [shield_keeps_no_reference, shield_local_reference])
def test_save_survives_rejects_a_save_nobody_holds(answer, capsys):
    ok, out = run_check(checks.check_save_survives, answer, capsys)
    assert not ok and "kept alive until it ends" in out, out
    assert "the save still completes" not in out, out  # one complaint for one mistake


def test_database_loses_a_save_whose_task_nobody_holds():
    async def main():
        db = Database(save_units=1)
        asyncio.create_task(db.save("a"))  # no reference kept
        await asyncio.sleep(0)  # it starts and waits for the reply
        gc.collect()
        await db.settled("a", 2)
        return db

    with caught_log("asyncio") as records:
        db = asyncio.run(main())
    assert db.lost == ["a"] and db.saved == [], db
    assert any("Task was destroyed but it is pending" in r.getMessage() for r in records)


@pytest.mark.parametrize("answer, complaint", [
    (no_shield, "the save still completes"),
    (shield_swallowed, "the task ends cancelled"),
    (shield_then_wait, "the caller is released at once"),
])
def test_save_survives_rejects(answer, complaint, capsys):
    ok, out = run_check(checks.check_save_survives, answer, capsys)
    assert not ok and complaint in out, out


def test_save_survives_template_is_not_done(capsys):
    ok, out = run_check(checks.check_save_survives, template, capsys)
    assert not ok and "not done yet" in out


