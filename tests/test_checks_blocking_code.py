"""The checks of notebook 11 accept the reference solutions and reject typical mistakes."""

from __future__ import annotations

import asyncio

from checks_support import load_solution as _load
from checks_support import run_check

from aiocourse.checks import blocking_code as threads

SOL11 = _load("11_blocking_code")




def template(*args):
    raise NotImplementedError


async def async_template(*args):
    raise NotImplementedError


# --- 11.1 read_all -----------------------------------------------------------------------------


def test_read_all_accepts_the_solution(capsys):
    ok, out = run_check(threads.check_read_all, SOL11.read_all, capsys)
    assert ok, out


def test_read_all_template_is_not_done(capsys):
    ok, out = run_check(threads.check_read_all, async_template, capsys)
    assert not ok and "not done yet" in out


def test_read_all_rejects_blocking_the_loop(capsys):
    async def blocking(read, keys):
        return [read(k) for k in keys]

    ok, out = run_check(threads.check_read_all, blocking, capsys)
    assert not ok and "ran in MainThread" in out and "no timer of the loop ran" in out


def test_read_all_rejects_one_thread_at_a_time(capsys):
    async def in_turn(read, keys):
        return [await asyncio.to_thread(read, k) for k in keys]

    ok, out = run_check(threads.check_read_all, in_turn, capsys)
    assert not ok and "not 3 x 0.15 s" in out
    assert "the loop keeps running meanwhile" in out.split("already right")[1]


# --- 11.2 make_on_done -------------------------------------------------------------------------


def test_make_on_done_accepts_the_solution(capsys):
    ok, out = run_check(threads.check_make_on_done, SOL11.make_on_done, capsys)
    assert ok, out


def test_make_on_done_accepts_run_coroutine_threadsafe(capsys):
    def make_on_done(loop, future):
        async def hand_over(value):
            future.set_result(value)

        return lambda value: asyncio.run_coroutine_threadsafe(hand_over(value), loop)

    ok, out = run_check(threads.check_make_on_done, make_on_done, capsys)
    assert ok, out


def test_make_on_done_template_is_not_done(capsys):
    ok, out = run_check(threads.check_make_on_done, template, capsys)
    assert not ok and "not done yet" in out


def test_make_on_done_rejects_set_result_from_the_wrong_thread(capsys):
    def make_on_done(loop, future):
        return future.set_result

    ok, out = run_check(threads.check_make_on_done, make_on_done, capsys)
    assert not ok
    assert "RuntimeError: Non-thread-safe operation invoked on an event loop" in out
    assert "not at its time limit" in out


def test_make_on_done_rejects_plain_call_soon(capsys):
    def make_on_done(loop, future):
        return lambda value: loop.call_soon(future.set_result, value)

    ok, out = run_check(threads.check_make_on_done, make_on_done, capsys)
    assert not ok and "Non-thread-safe operation" in out and "gets 42" in out


def test_make_on_done_rejects_not_returning_a_function(capsys):
    def make_on_done(loop, future):
        loop.call_soon_threadsafe(future.set_result, 42)

    ok, out = run_check(threads.check_make_on_done, make_on_done, capsys)
    assert not ok and "returns a function on_done(value)" in out
