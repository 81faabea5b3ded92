"""The checks of notebook 10 accept the reference solutions and reject typical mistakes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest
from checks_support import load_solution as _load
from checks_support import run_check

from aiocourse.checks import loop_in_another_thread as threads
from aiocourse.checks._threads import Jobs

SOL10 = _load("10_loop_in_another_thread")




def template(*args):
    raise NotImplementedError


async def async_template(*args):
    raise NotImplementedError


# --- Jobs -------------------------------------------------------------------------------------


def test_jobs_record_thread_and_time():
    jobs = Jobs(read_units=1)

    async def main():
        return await jobs.job(1)

    assert asyncio.run(main()) == 10
    assert jobs.read("a") == "value a"
    thread, start, end, how = jobs.ran["job 1"]
    assert (thread, how) == ("MainThread", "done") and end - start >= 0.99
    assert jobs.ran["read a"][3] == "done" and jobs.threads() == ["MainThread"]
    assert jobs.running() == []


# --- 10.1 run_all ------------------------------------------------------------------------------


def test_run_all_accepts_the_solution(capsys):
    ok, out = run_check(threads.check_run_all, SOL10.run_all, capsys)
    assert ok, out
    assert out.startswith("✅ Exercise 10.1")


def test_run_all_template_is_not_done(capsys):
    ok, out = run_check(threads.check_run_all, template, capsys)
    assert not ok and "not done yet" in out


def test_run_all_rejects_waiting_for_each_in_turn(capsys):
    def one_by_one(lt, job, args):
        return [lt.submit(job(a)).result() for a in args]

    ok, out = run_check(threads.check_run_all, one_by_one, capsys)
    assert not ok and "not 3 + 1 + 2 = 6" in out
    assert "already right" in out and "in the order of args" in out


def test_run_all_rejects_a_loop_of_its_own(capsys):
    def own_loop(lt, job, args):
        async def all_of_them():
            return await asyncio.gather(*(job(a) for a in args))
        return asyncio.run(all_of_them())

    ok, out = run_check(threads.check_run_all, own_loop, capsys)
    assert not ok and "ran on ['sync caller']" in out


def test_run_all_rejects_an_async_function(capsys):
    async def not_sync(lt, job, args):
        return [await job(a) for a in args]

    ok, out = run_check(threads.check_run_all, not_sync, capsys)
    assert not ok and "a plain function" in out


def test_run_all_survives_an_answer_that_never_returns(capsys):
    def waits_for_ever(lt, job, args):
        lt.submit(job(100)).result()  # cancelled when the check's loop thread exits

    t0 = time.perf_counter()
    ok, out = run_check(threads.check_run_all, waits_for_ever, capsys)
    assert not ok and "returns within 2 s" in out and time.perf_counter() - t0 < 4


# --- 10.2 result_or_none -----------------------------------------------------------------------


def test_result_or_none_accepts_the_solution(capsys):
    ok, out = run_check(threads.check_result_or_none, SOL10.result_or_none, capsys)
    assert ok, out


def test_result_or_none_template_is_not_done(capsys):
    ok, out = run_check(threads.check_result_or_none, template, capsys)
    assert not ok and "not done yet" in out


def test_result_or_none_rejects_not_cancelling(capsys):
    def gives_up_only(lt, coro, timeout):
        try:
            return lt.submit(coro).result(timeout)
        except TimeoutError:
            return None

    ok, out = run_check(threads.check_result_or_none, gives_up_only, capsys)
    assert not ok and "cancels the slow job" in out and "future.cancel()" in out


def test_result_or_none_rejects_waiting_without_a_limit(capsys):
    def no_limit(lt, coro, timeout):
        return lt.submit(coro).result()

    ok, out = run_check(threads.check_result_or_none, no_limit, capsys)
    assert not ok and "returns None" in out


# --- 10.3 shut_down ----------------------------------------------------------------------------


def test_shut_down_accepts_the_solution(capsys):
    ok, out = run_check(threads.check_shut_down, SOL10.shut_down, capsys)
    assert ok, out


def test_shut_down_template_is_not_done(capsys):
    ok, out = run_check(threads.check_shut_down, template, capsys)
    assert not ok and "not done yet" in out


def test_shut_down_rejects_closing_a_running_loop(capsys):
    def close_only(loop, thread):
        loop.close()

    ok, out = run_check(threads.check_shut_down, close_only, capsys)
    assert not ok and "RuntimeError: Cannot close a running event loop" in out
    assert "loop.close() comes last" in out


def test_shut_down_rejects_stop_from_the_wrong_thread(capsys):
    def plain_stop(loop, thread):
        loop.stop()
        thread.join()
        loop.close()

    ok, out = run_check(threads.check_shut_down, plain_stop, capsys)
    assert not ok and "returns within 1 s" in out and "call_soon_threadsafe(loop.stop)" in out


def test_shut_down_rejects_forgetting_the_leftovers(capsys):
    def stop_join_close(loop, thread):
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

    ok, out = run_check(threads.check_shut_down, stop_join_close, capsys)
    assert not ok
    assert "Task was destroyed but it is pending!" in out
    assert "async generator left open" in out
    assert "already right: the loop's thread has ended; the loop is closed" in out


def test_shut_down_rejects_forgetting_to_close(capsys):
    def no_close(loop, thread):
        loop.call_soon_threadsafe(loop.stop)
        thread.join()

    ok, out = run_check(threads.check_shut_down, no_close, capsys)
    assert not ok and "the loop is closed" in out


# --- 10.4 run_sync -----------------------------------------------------------------------------


def test_run_sync_accepts_the_solution(capsys):
    ok, out = run_check(threads.check_run_sync, SOL10.run_sync, capsys)
    assert ok, out
    assert out.startswith("✅ Exercise 10.4")


def test_run_sync_template_is_not_done(capsys):
    ok, out = run_check(threads.check_run_sync, template, capsys)  # and closes its coroutine
    assert not ok and "not done yet" in out


def test_run_sync_rejects_asyncio_run_alone(capsys):
    def run_sync(coro):
        return asyncio.run(coro)

    ok, out = run_check(threads.check_run_sync, run_sync, capsys)
    assert not ok and "asyncio.run() cannot be called from a running event loop" in out
    assert "already right: works where no loop is running" in out


def test_run_sync_rejects_run_until_complete(capsys):
    def run_sync(coro):
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(coro)
        finally:
            loop.close()

    ok, out = run_check(threads.check_run_sync, run_sync, capsys)
    assert not ok and "Cannot run the event loop while another loop is running" in out


def test_run_sync_rejects_async_def(capsys):
    async def run_sync(coro):
        return await coro

    ok, out = run_check(threads.check_run_sync, run_sync, capsys)
    assert not ok and "a plain function" in out


@pytest.mark.skipif(hasattr(asyncio, "_nest_patched"), reason="asyncio already patched here")
def test_run_sync_rejects_nest_asyncio():
    # Patching is process-wide and cannot be undone, so run it in a child process.
    code = (
        "import asyncio, nest_asyncio\n"
        "from aiocourse.checks.loop_in_another_thread import check_run_sync\n"
        "def run_sync(coro):\n"
        "    nest_asyncio.apply()\n"
        "    return asyncio.get_event_loop().run_until_complete(coro)\n"
        "async def main():\n"
        "    print(await check_run_sync(run_sync))\n"
        # printed inside the loop: on 3.14, nest_asyncio 1.6.0 then breaks asyncio.run's own
        # shutdown ("Timeout should be used inside a task"), which is not this test's business
        "asyncio.run(main())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30).stdout
    assert "leaves asyncio unpatched" in out
    assert out.rstrip().endswith("False")


