"""The checks of notebook 14 accept the reference solutions and reject typical mistakes."""

from __future__ import annotations

import pytest
from checks_support import load_solution as _load
from checks_support import run_check
from redis_support import needs_redis

from aiocourse import redis_server
from aiocourse.checks import reliable_queue as checks
from aiocourse.queue import parse_units

UNIT = checks.UNIT


SOL14 = _load("14_reliable_queue")


@pytest.fixture(scope="module", autouse=True)
def _one_server():
    # The checks use start_redis(), the process-wide server, as a notebook does.
    yield
    redis_server.stop_redis()


def template(*args):
    raise NotImplementedError


async def async_template(*args):
    raise NotImplementedError


# --- 14.1 -------------------------------------------------------------------------------------


def test_parse_job_accepts_the_solution_and_the_package_s_own(capsys):
    assert checks.check_parse_job(SOL14.parse_job)
    assert checks.check_parse_job(parse_units)
    assert capsys.readouterr().out.count("✅") == 2


def test_parse_job_rejects_plain_int(capsys):
    assert not checks.check_parse_job(lambda data: int(data))
    out = capsys.readouterr().out
    assert "ValueError instead of BadPayload" in out and "was accepted" in out


def test_parse_job_template_is_not_done(capsys):
    assert not checks.check_parse_job(template)
    assert "not done yet" in capsys.readouterr().out


# --- 14.2 -------------------------------------------------------------------------------------


async def take_everything(r, stream, group, me, min_idle_ms):
    held = await r.xpending_range(stream, group, "-", "+", 100)
    claimed = await r.xclaim(stream, group, me, 0, [p["message_id"] for p in held])
    return [fields[b"data"] for _id, fields in claimed]


async def take_over_with_xautoclaim(r, stream, group, me, min_idle_ms):
    _next, entries, *_deleted = await r.xautoclaim(stream, group, me, min_idle_ms, "0-0")
    return [fields[b"data"] for _id, fields in entries]


@needs_redis
def test_take_over_accepts_the_solution(capsys):
    ok, out = run_check(checks.check_take_over, SOL14.take_over, capsys)
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
