"""The checks of notebooks 10 and 11 accept the reference solutions and reject typical mistakes."""

from __future__ import annotations

import asyncio
import time

import pytest
from checks_support import load_solution as _load
from checks_support import run_check
from redis_support import needs_redis

from aiocourse import redis_server
from aiocourse.checks import queue as checks
from aiocourse.queue import parse_units

UNIT = checks.UNIT


SOL10 = _load("10_master_worker_redis")
SOL11 = _load("11_reliable_queue")


@pytest.fixture(scope="module", autouse=True)
def _one_server():
    # The checks use start_redis(), the process-wide server, as a notebook does.
    yield
    redis_server.stop_redis()


def template(*args):
    raise NotImplementedError


async def async_template(*args):
    raise NotImplementedError


# --- 10.1 -------------------------------------------------------------------------------------


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
    ok, out = run_check(checks.check_blocking_master, SOL10.master_blocking, capsys)
    assert ok, out
    assert "✅ Exercise 10.1" in out


@needs_redis
def test_blocking_master_rejects_polling(capsys):
    ok, out = run_check(checks.check_blocking_master, polling_master, capsys)
    assert not ok
    assert "each job starts within 20 ms of its push" in out


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


# --- 10.2 -------------------------------------------------------------------------------------


def master_reading_the_wrong_end(rcon, loop, work):
    futures = []
    while True:
        _key, value = rcon.blpop("queue", timeout=0)
        if value == b"STOP":
            return futures
        futures.append(asyncio.run_coroutine_threadsafe(work(int(value)), loop))


@needs_redis
def test_poison_pill_accepts_the_solution(capsys):
    ok, out = run_check(checks.check_poison_pill, SOL10.master_until_stop, capsys)
    assert ok, out


@needs_redis
def test_poison_pill_rejects_lifo_order(capsys):
    ok, out = run_check(checks.check_poison_pill, master_reading_the_wrong_end, capsys)
    assert not ok and "hands over 1 and 2" in out


@needs_redis
def test_poison_pill_template_is_not_done(capsys):
    ok, out = run_check(checks.check_poison_pill, template, capsys)
    assert not ok and "not done yet" in out


# --- 11.1 -------------------------------------------------------------------------------------


def test_parse_job_accepts_the_solution_and_the_package_s_own(capsys):
    assert checks.check_parse_job(SOL11.parse_job)
    assert checks.check_parse_job(parse_units)
    assert capsys.readouterr().out.count("✅") == 2


def test_parse_job_rejects_plain_int(capsys):
    assert not checks.check_parse_job(lambda data: int(data))
    out = capsys.readouterr().out
    assert "ValueError instead of BadPayload" in out and "was accepted" in out


def test_parse_job_template_is_not_done(capsys):
    assert not checks.check_parse_job(template)
    assert "not done yet" in capsys.readouterr().out


# --- 11.2 -------------------------------------------------------------------------------------


async def take_everything(r, stream, group, me, min_idle_ms):
    held = await r.xpending_range(stream, group, "-", "+", 100)
    claimed = await r.xclaim(stream, group, me, 0, [p["message_id"] for p in held])
    return [fields[b"data"] for _id, fields in claimed]


async def take_over_with_xautoclaim(r, stream, group, me, min_idle_ms):
    _next, entries, *_deleted = await r.xautoclaim(stream, group, me, min_idle_ms, "0-0")
    return [fields[b"data"] for _id, fields in entries]


@needs_redis
def test_take_over_accepts_the_solution(capsys):
    ok, out = run_check(checks.check_take_over, SOL11.take_over, capsys)
    assert ok, out


@needs_redis
def test_take_over_accepts_xautoclaim_on_redis_6_2_and_later(capsys):
    import redis

    version = redis.Redis.from_url(redis_server.start_redis().url).info()["redis_version"]
    if tuple(int(x) for x in version.split(".")[:2]) < (6, 2):
        pytest.skip(f"XAUTOCLAIM needs Redis 6.2; this one is {version}")
    ok, out = run_check(checks.check_take_over, take_over_with_xautoclaim, capsys)
    assert ok, out


@needs_redis
def test_take_over_rejects_taking_jobs_that_are_not_idle(capsys):
    ok, out = run_check(checks.check_take_over, take_everything, capsys)
    assert not ok and "not c" in out


@needs_redis
def test_take_over_template_is_not_done(capsys):
    ok, out = run_check(checks.check_take_over, async_template, capsys)
    assert not ok and "not done yet" in out
