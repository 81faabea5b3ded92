"""The checks of notebook 15 accept the reference solutions and reject typical mistakes."""

from __future__ import annotations

import asyncio

import aiohttp
from checks_support import load_solution as _load
from checks_support import run_check

from aiocourse.checks import network_io as checks

SOL15 = _load("15_network_io")




async def template(*args):
    raise NotImplementedError


async def get_text(session, url):
    async with session.get(url) as resp:
        resp.raise_for_status()
        return await resp.text()


# --- 15.1 --------------------------------------------------------------------------------------


def test_fetch_limited_accepts_solution(capsys):
    ok, out = run_check(checks.check_fetch_limited, SOL15.fetch_limited, capsys)
    assert ok, out
    assert out.startswith("✅ Exercise 15.1")


def test_fetch_limited_template_is_not_done(capsys):
    ok, out = run_check(checks.check_fetch_limited, template, capsys)
    assert not ok and "not done yet" in out


def test_fetch_limited_rejects_no_limit(capsys):
    async def all_at_once(session, urls, limit):
        return await asyncio.gather(*(get_text(session, u) for u in urls))

    ok, out = run_check(checks.check_fetch_limited, all_at_once, capsys)
    assert not ok and "the server saw 30 at once" in out


def test_fetch_limited_rejects_one_by_one(capsys):
    async def one_by_one(session, urls, limit):
        return [await get_text(session, u) for u in urls]

    ok, out = run_check(checks.check_fetch_limited, one_by_one, capsys)
    assert not ok and "at most 1 at once" in out and "takes about 0.3 s" in out


def test_fetch_limited_rejects_a_semaphore_per_task(capsys):
    async def sem_per_task(session, urls, limit):
        async def fetch(url):
            async with asyncio.Semaphore(limit):  # a new one each time: limits nothing
                return await get_text(session, url)

        return await asyncio.gather(*(fetch(u) for u in urls))

    ok, out = run_check(checks.check_fetch_limited, sem_per_task, capsys)
    assert not ok and "never more than 5 requests" in out


def test_fetch_limited_rejects_a_fixed_limit(capsys):
    async def always_five(session, urls, limit):
        return await SOL15.fetch_limited(session, urls, 5)

    ok, out = run_check(checks.check_fetch_limited, always_five, capsys)
    assert not ok and "respects `limit`" in out


def test_fetch_limited_rejects_completion_order(capsys):
    async def as_they_come(session, urls, limit):
        sem = asyncio.Semaphore(limit)

        async def fetch(url):
            async with sem:
                return await get_text(session, url)

        return [await f for f in asyncio.as_completed([fetch(u) for u in reversed(urls)])]

    ok, out = run_check(checks.check_fetch_limited, as_they_come, capsys)
    assert not ok and "in the order of `urls`" in out


# --- 15.2 --------------------------------------------------------------------------------------


def test_fetch_with_retry_accepts_solution(capsys):
    ok, out = run_check(checks.check_fetch_with_retry, SOL15.fetch_with_retry, capsys)
    assert ok, out


def test_fetch_with_retry_accepts_aiohttp_timeout(capsys):
    async def with_client_timeout(session, url, timeout):
        for attempt in (1, 2):
            try:
                return await _get(session, url, timeout)
            except aiohttp.ClientResponseError as exc:
                if exc.status < 500 or attempt == 2:
                    raise
            except TimeoutError:
                if attempt == 2:
                    raise

    async def _get(session, url, timeout):
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            resp.raise_for_status()
            return await resp.text()

    ok, out = run_check(checks.check_fetch_with_retry, with_client_timeout, capsys)
    assert ok, out


def test_fetch_with_retry_template_is_not_done(capsys):
    ok, out = run_check(checks.check_fetch_with_retry, template, capsys)
    assert not ok and "not done yet" in out


def test_fetch_with_retry_rejects_no_raise_for_status(capsys):
    async def ignores_status(session, url, timeout):
        for attempt in (1, 2):
            try:
                async with asyncio.timeout(timeout):
                    async with session.get(url) as resp:
                        return await resp.text()
            except TimeoutError:
                if attempt == 2:
                    raise

    ok, out = run_check(checks.check_fetch_with_retry, ignores_status, capsys)
    assert not ok and "a 503 on the first try" in out and "raise_for_status" in out


def test_fetch_with_retry_rejects_no_timeout(capsys):
    async def no_timeout(session, url, timeout):
        for attempt in (1, 2):
            try:
                return await get_text(session, url)
            except aiohttp.ClientResponseError as exc:
                if exc.status < 500 or attempt == 2:
                    raise

    ok, out = run_check(checks.check_fetch_with_retry, no_timeout, capsys)
    assert not ok and "to finish within" in out


def test_fetch_with_retry_rejects_retrying_everything(capsys):
    async def retries_all(session, url, timeout):
        for attempt in (1, 2):
            try:
                async with asyncio.timeout(timeout):
                    return await get_text(session, url)
            except Exception:
                if attempt == 2:
                    raise

    ok, out = run_check(checks.check_fetch_with_retry, retries_all, capsys)
    assert not ok and "a 404 is not retried" in out and "after 2 tries" in out


def test_fetch_with_retry_rejects_endless_retries(capsys):
    async def forever(session, url, timeout):
        while True:
            try:
                async with asyncio.timeout(timeout):
                    return await get_text(session, url)
            except aiohttp.ClientResponseError as exc:
                if exc.status < 500:
                    raise
            except TimeoutError:
                pass

    ok, out = run_check(checks.check_fetch_with_retry, forever, capsys)
    assert not ok and "two tries, then the error is raised" in out


