"""The checks of notebooks 06 and 07 accept the reference solutions and reject typical mistakes."""

from __future__ import annotations

import asyncio
import gc
import signal

import pytest
from checks_support import load_solution as _load
from checks_support import run_check

from aiocourse.checks import cancellation
from aiocourse.checks.cancellation import UNIT, Connection, Database, trimmed
from aiocourse.notebook import caught_log
from aiocourse.scripts import ScriptRun

SOL06 = _load("06_task_states_and_cancellation")
SOL07 = _load("07_ctrl_c_and_shutdown")


async def template(*args):
    raise NotImplementedError


# --- the fakes --------------------------------------------------------------------------------


def test_connection_and_database_record_what_happened():
    async def main():
        conn = Connection(1)
        assert await conn.read() == "data"
        assert conn.read_state == "done" and not conn.closed
        await conn.close()
        assert conn.closed and conn.closed_at is not None
        with pytest.raises(ConnectionError):
            await conn.read()

        slow = Connection(10)
        task = asyncio.create_task(slow.read())
        await asyncio.sleep(UNIT)
        task.cancel()
        await asyncio.wait([task])
        assert slow.read_state == "cancelled"

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


# --- trimmed ----------------------------------------------------------------------------------

TRACEBACK_311 = """\
Waiting: 1
Traceback (most recent call last):
  File "script.py", line 13, in <module>
    loop.run_until_complete(asyncio.wait(tasks))
  File "<stdlib>/asyncio/base_events.py", line 640, in run_until_complete
    self.run_forever()
  File "<stdlib>/selectors.py", line 468, in select
    fd_event_list = self._selector.poll(timeout, max_ev)
                    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
KeyboardInterrupt
Task was destroyed but it is pending!
task: <Task pending name='Task-3' coro=<task() running at script.py:5> wait_for=<Future \
pending cb=[Task.task_wakeup()]> cb=[_wait.<locals>._on_completion() at \
<stdlib>/asyncio/tasks.py:519]>
"""
TRACEBACK_313 = """\
Waiting: 1
Traceback (most recent call last):
  File "script.py", line 13, in <module>
    loop.run_until_complete(asyncio.wait(tasks))
    ~~~~~~~~~~~~~~~~~~~~~~~^^^^^^^^^^^^^^^^^^^^^
  File "<stdlib>/asyncio/base_events.py", line 708, in run_until_complete
    self.run_forever()
    ~~~~~~~~~~~~~~~~^^
  File "<stdlib>/selectors.py", line 452, in select
    fd_event_list = self._selector.poll(timeout, max_ev)
KeyboardInterrupt
Task was destroyed but it is pending!
task: <Task pending name='Task-1' coro=<task() running at script.py:5> wait_for=<Future \
pending cb=[Task.task_wakeup()]> cb=[_wait.<locals>._on_completion() at \
<stdlib>/asyncio/tasks.py:521]>
"""


def test_trimmed_reads_the_same_on_every_version():
    expected = """\
Waiting: 1
Traceback (most recent call last):
  File "script.py", line 13, in <module>
    loop.run_until_complete(asyncio.wait(tasks))
  …
KeyboardInterrupt
Task was destroyed but it is pending!
task: <Task pending name='Task-…' coro=<task() running at script.py:5> …>"""
    assert trimmed(TRACEBACK_311) == expected
    assert trimmed(TRACEBACK_313) == expected
    coloured = TRACEBACK_313.replace('File "script.py"', 'File \x1b[35m"script.py"\x1b[0m')
    coloured = coloured.replace("KeyboardInterrupt", "\x1b[1;35mKeyboardInterrupt\x1b[0m")
    assert trimmed(coloured) == expected  # 3.13 under FORCE_COLOR=1, as a kernel sets it


def test_trimmed_takes_a_script_run_and_keeps_its_status():
    run = ScriptRun(output="hello\n", returncode=0, interrupted=False, timed_out=False)
    assert trimmed(run) == "hello\n[exit code 0]"
    assert trimmed("no traceback here") == "no traceback here"


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
    ok, out = run_check(cancellation.check_fetch_or_none, SOL06.fetch_or_none, capsys)
    assert ok, out


@pytest.mark.parametrize("answer, complaint", [
    (no_timeout, "gives up at the limit"),
    (swallows_cancel, "the task ends cancelled"),
    (closes_on_timeout_only, "closes the connection when cancelled from outside"),
])
def test_fetch_or_none_rejects(answer, complaint, capsys):
    ok, out = run_check(cancellation.check_fetch_or_none, answer, capsys)
    assert not ok and complaint in out, out


def test_fetch_or_none_rejects_a_close_not_awaited(capsys):
    with pytest.warns(RuntimeWarning, match="never awaited"):
        ok, out = run_check(cancellation.check_fetch_or_none, close_not_awaited, capsys)
        import gc

        gc.collect()
    assert not ok and "close is a coroutine: await it" in out, out


def test_fetch_or_none_template_is_not_done(capsys):
    ok, out = run_check(cancellation.check_fetch_or_none, template, capsys)
    assert not ok and "not done yet" in out


def test_fetch_or_none_wants_an_async_function(capsys):
    ok, out = run_check(cancellation.check_fetch_or_none, lambda conn, limit: "data", capsys)
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
    ok, out = run_check(cancellation.check_save_survives, SOL06.save_then_reply, capsys)
    assert ok, out
    assert not SOL06.saves_in_progress  # the solution lets go of each save once it has ended


@pytest.mark.parametrize("answer", [shield_keeps_no_reference, shield_local_reference])
def test_save_survives_rejects_a_save_nobody_holds(answer, capsys):
    ok, out = run_check(cancellation.check_save_survives, answer, capsys)
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
    ok, out = run_check(cancellation.check_save_survives, answer, capsys)
    assert not ok and complaint in out, out


def test_save_survives_template_is_not_done(capsys):
    ok, out = run_check(cancellation.check_save_survives, template, capsys)
    assert not ok and "not done yet" in out


# --- 7.1 (each runs a real script: about half a second) ----------------------------------------


async def serve(jobs, handle):
    raise NotImplementedError  # the template, as the notebook has it


async def serve_plain(jobs, handle):
    finished = []
    for job in jobs:
        await handle(job)
        finished.append(job)
    return finished


async def serve_ignores_flag(jobs, handle):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    finished = []
    for job in jobs:
        await handle(job)
        finished.append(job)
    return finished


async def serve_cancels_itself(jobs, handle):
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, asyncio.current_task().cancel)
    finished = []
    try:
        for job in jobs:
            await handle(job)
            finished.append(job)
    except asyncio.CancelledError:
        pass
    return finished


def test_graceful_service_accepts_solution(capsys):
    ok, out = run_check(cancellation.check_graceful_service, SOL07.serve, capsys)
    assert ok, out


@pytest.mark.parametrize("answer, complaint", [
    (serve_plain, "the job in progress at Ctrl+C (b) finishes"),
    (serve_ignores_flag, "no new job starts after Ctrl+C"),
    (serve_cancels_itself, "the job in progress at Ctrl+C (b) finishes"),
])
def test_graceful_service_rejects(answer, complaint, capsys):
    ok, out = run_check(cancellation.check_graceful_service, answer, capsys)
    assert not ok and complaint in out, out


def test_graceful_service_template_is_not_done(capsys):
    ok, out = run_check(cancellation.check_graceful_service, serve, capsys)
    assert not ok and "not done yet" in out, out


def test_graceful_service_wants_an_async_function(capsys):
    ok, out = run_check(cancellation.check_graceful_service, print, capsys)
    assert not ok and "an async function" in out, out


# --- 7.2 --------------------------------------------------------------------------------------


async def cancels_everything(tasks):
    others = [t for t in tasks if t is not asyncio.current_task()]
    cancelled = [t for t in others if t.cancel()]
    await asyncio.wait(others)
    return len(cancelled)


async def does_not_wait(tasks):
    return sum(t.cancel() for t in tasks if t.get_name().startswith("job"))


async def counts_every_job(tasks):
    jobs = [t for t in tasks if t.get_name().startswith("job")]
    for t in jobs:
        t.cancel()
    await asyncio.wait(jobs)
    return len(jobs)


async def cancels_itself_too(tasks):
    for t in tasks:
        t.cancel()
    await asyncio.sleep(UNIT)
    return 3


async def gathers_and_raises(tasks):
    jobs = [t for t in tasks if t.get_name().startswith("job")]
    for t in jobs:
        t.cancel()
    await asyncio.gather(*jobs)  # a cancelled child makes gather raise CancelledError here
    return 3


def test_stop_jobs_accepts_solution(capsys):
    ok, out = run_check(cancellation.check_stop_jobs, SOL07.stop_jobs, capsys)
    assert ok, out


@pytest.mark.parametrize("answer, complaint", [
    (cancels_everything, "the other tasks keep running"),
    (does_not_wait, "they have ended (cleanup included)"),
    (counts_every_job, "returns 3"),
    (cancels_itself_too, "your function is not cancelled"),
    (gathers_and_raises, "a CancelledError came out of it"),
])
def test_stop_jobs_rejects(answer, complaint, capsys):
    ok, out = run_check(cancellation.check_stop_jobs, answer, capsys)
    assert not ok and complaint in out, out


def test_stop_jobs_template_is_not_done(capsys):
    ok, out = run_check(cancellation.check_stop_jobs, template, capsys)
    assert not ok and "not done yet" in out
