"""The checks of notebook 13 accept the reference solutions and reject typical mistakes."""

from __future__ import annotations

import asyncio
import time

import pytest
from checks_support import load_solution as _load
from checks_support import run_check
from redis_support import needs_redis

from aiocourse import redis_server
from aiocourse.checks import master_worker_redis as checks

UNIT = checks.UNIT


SOL13 = _load("13_master_worker_redis")


@pytest.fixture(scope="module", autouse=True)
def _one_server():
    # The checks use start_redis(), the process-wide server, as a notebook does.
    yield
    redis_server.stop_redis()


def template(*args):
    raise NotImplementedError


async def async_template(*args):
    raise NotImplementedError


# --- 13.1 -------------------------------------------------------------------------------------


def polling_master(rcon, loop, stop, work):
    futures = []
    while True:
        item = rcon.rpop("queue")
        if item is None:
            if stop.is_set():
                return futures
            time.sleep(UNIT)
            continue
        futures.append(asyncio.run_coroutine_threadsafe(work(int(item)), loop))


def master_that_never_stops(rcon, loop, stop, work):
    futures = []
    while True:
        _key, value = rcon.brpop("queue", timeout=0)
        futures.append(asyncio.run_coroutine_threadsafe(work(int(value)), loop))


@needs_redis
def test_blocking_master_accepts_the_solution(capsys):
    ok, out = run_check(checks.check_blocking_master, SOL13.master_blocking, capsys)
    assert ok, out
    assert "✅ Exercise 13.1" in out


@needs_redis
def test_blocking_master_rejects_polling(capsys):
    ok, out = run_check(checks.check_blocking_master, polling_master, capsys)
    assert not ok
    assert "waits inside Redis with a blocking pop" in out and "rpop" in out


def master_that_looks_at_stop_rarely(rcon, loop, stop, work):
    futures = []
    while True:
        item = rcon.brpop("queue", timeout=0.5)  # fast pickup, but `stop` waits up to 0.5 s
        if item is None:
            if stop.is_set():
                return futures
            continue
        futures.append(asyncio.run_coroutine_threadsafe(work(int(item[1])), loop))


@needs_redis
def test_blocking_master_rejects_a_long_brpop_timeout(capsys):
    ok, out = run_check(checks.check_blocking_master, master_that_looks_at_stop_rarely, capsys)
    assert not ok
    assert "returns within 0.2 s after `stop` is set" in out


@needs_redis
def test_blocking_master_rejects_a_loop_without_exit_and_leaves_no_thread(capsys):
    ok, out = run_check(checks.check_blocking_master, master_that_never_stops, capsys)
    assert not ok
    assert "to finish within" in out


@needs_redis
def test_blocking_master_rejects_an_async_def(capsys):
    ok, out = run_check(checks.check_blocking_master, async_template, capsys)
    assert not ok and "a plain function (def)" in out


@needs_redis
def test_blocking_master_template_is_not_done(capsys):
    ok, out = run_check(checks.check_blocking_master, template, capsys)
    assert not ok and "not done yet" in out


# --- 13.2 -------------------------------------------------------------------------------------


def master_reading_the_wrong_end(rcon, loop, work):
    futures = []
    while True:
        item = rcon.blpop("queue", timeout=UNIT)
        if item is None:
            continue
        if item[1] == b"STOP":
            return futures
        futures.append(asyncio.run_coroutine_threadsafe(work(int(item[1])), loop))


def master_waiting_for_ever(rcon, loop, work):
    futures = []
    while True:
        _key, value = rcon.brpop("queue", timeout=0)  # the client gives up first
        if value == b"STOP":
            return futures
        futures.append(asyncio.run_coroutine_threadsafe(work(int(value)), loop))


@needs_redis
def test_poison_pill_accepts_the_solution(capsys):
    ok, out = run_check(checks.check_poison_pill, SOL13.master_until_stop, capsys)
    assert ok, out


@needs_redis
def test_poison_pill_rejects_lifo_order(capsys):
    ok, out = run_check(checks.check_poison_pill, master_reading_the_wrong_end, capsys)
    assert not ok and "hands over 1 and 2" in out


@needs_redis
def test_poison_pill_rejects_an_endless_brpop_that_the_client_gives_up_on(capsys):
    ok, out = run_check(checks.check_poison_pill, master_waiting_for_ever, capsys)
    assert not ok and "redis.exceptions.TimeoutError" in out and "socket_timeout" in out


@needs_redis
def test_poison_pill_template_is_not_done(capsys):
    ok, out = run_check(checks.check_poison_pill, template, capsys)
    assert not ok and "not done yet" in out


