"""The checks of notebook 07 (coordinating tasks) accept the reference solutions and reject
typical mistakes; the judgements are tested on made-up logs."""

from __future__ import annotations

import asyncio
import sys

import pytest
from checks_support import load_solution, run_check

from aiocourse.checks import coordinating_tasks as ct
from aiocourse.checks.referee import Event, EventLog

SOL = load_solution("07_coordinating_tasks")


def made_up(*events) -> EventLog:
    """A log of (what, key[, data]) events, one per millisecond."""
    log = EventLog()
    for k, (what, key, *data) in enumerate(events):
        log.events.append(Event(k / 1000, what, key, "MainThread", None,
                                data[0] if data else None))
    return log


# --- the judgements ----------------------------------------------------------------------------


def test_peak_counts_what_runs_at_once():
    log = made_up(("start", 1), ("start", 2), ("end", 1), ("start", 3), ("start", 4),
                  ("cancelled", 2), ("end", 3), ("end", 4))
    assert ct.peak(log) == 3
    assert ct.peak(made_up()) == 0


def test_read_ahead_counts_jobs_read_and_not_started():
    bounded = made_up(("read", 0), ("read", 1), ("read", 2), ("start", 0), ("read", 3),
                      ("start", 1), ("read", 4))
    assert ct.read_ahead(bounded) == 3
    everything_first = made_up(*[("read", i) for i in range(5)], *[("start", i) for i in range(5)])
    assert ct.read_ahead(everything_first) == 5


def test_interleaved_and_sections():
    turns = made_up(("read", "a"), ("write", "a"), ("written", "a"), ("read", "b"),
                    ("read", "a"), ("write", "b"), ("write", "a"), ("written", "b"),
                    ("written", "a"))
    assert ct.interleaved(turns) == {}
    spans = ct.sections(turns)
    assert spans["a"] == [(0.0, 0.002), (0.004, 0.008)]
    assert spans["b"] == [(0.003, 0.007)]
    lost = made_up(("read", "a"), ("read", "a"), ("write", "a"), ("written", "a"),
                   ("write", "a"), ("written", "a"))
    assert ct.interleaved(lost) == {"a": "read, read, write, write"}


def test_store_reads_and_writes():
    async def main():
        store = ct.Store()
        assert await store.read("x") == 0
        await store.write("x", 5)
        return store, await store.read("x")

    store, value = asyncio.run(main())
    assert value == 5 and store.values == {"x": 5}
    assert [e.what for e in store.log.of()] == ["read", "write", "written", "read"]


# --- 7.1 ---------------------------------------------------------------------------------------


async def template(*args):
    raise NotImplementedError


def test_pipeline_accepts_solution(capsys):
    ok, out = run_check(ct.check_pipeline, SOL.pipeline, capsys)
    assert ok, out
    assert out.startswith("✅ Exercise 7.1")


@pytest.mark.skipif(sys.version_info < (3, 13), reason="Queue.shutdown() is new in 3.13")
def test_pipeline_accepts_the_shutdown_solution(capsys):
    ok, out = run_check(ct.check_pipeline, SOL.pipeline_shutdown, capsys)
    assert ok, out


def test_pipeline_accepts_stop_items(capsys):
    async def stop_items(jobs, work, workers, maxsize):
        queue, results, stop = asyncio.Queue(maxsize), [], object()

        async def worker():
            while (job := await queue.get()) is not stop:
                results.append(await work(job))

        async with asyncio.TaskGroup() as tg:
            for _ in range(workers):
                tg.create_task(worker())
            async for job in jobs:
                await queue.put(job)
            for _ in range(workers):
                await queue.put(stop)
        return results

    ok, out = run_check(ct.check_pipeline, stop_items, capsys)
    assert ok, out


def test_pipeline_template_is_not_done(capsys):
    ok, out = run_check(ct.check_pipeline, template, capsys)
    assert not ok and "not done yet" in out


def test_pipeline_rejects_an_unbounded_queue(capsys):
    async def unbounded(jobs, work, workers, maxsize):
        return await SOL.pipeline(jobs, work, workers, 0)  # maxsize=0: no limit

    ok, out = run_check(ct.check_pipeline, unbounded, capsys)
    assert not ok
    assert "at most maxsize + 1 jobs ahead" in out
    assert "12 jobs read and not started (workers=3, maxsize=2, 12 jobs)" in out


def test_pipeline_rejects_a_task_per_job(capsys):
    async def task_per_job(jobs, work, workers, maxsize):
        return list(await asyncio.gather(*[work(job) async for job in jobs]))

    ok, out = run_check(ct.check_pipeline, task_per_job, capsys)
    assert not ok
    assert "never more than `workers` jobs at once" in out and "12 at once" in out
    assert "in 12 different tasks" in out


def test_pipeline_rejects_one_worker(capsys):
    async def one_worker(jobs, work, workers, maxsize):
        return await SOL.pipeline(jobs, work, 1, maxsize)

    ok, out = run_check(ct.check_pipeline, one_worker, capsys)
    assert not ok and "`workers` jobs at once, one per worker" in out
    assert "at most 1 at once (workers=3" in out


def test_pipeline_rejects_workers_left_running(capsys):
    async def never_stopped(jobs, work, workers, maxsize):
        queue, results = asyncio.Queue(maxsize), []

        async def worker():
            while True:
                job = await queue.get()
                results.append(await work(job))
                queue.task_done()

        for _ in range(workers):
            asyncio.create_task(worker())
        async for job in jobs:
            await queue.put(job)
        await queue.join()
        return results  # the workers still wait in get(): the check cancels them

    ok, out = run_check(ct.check_pipeline, never_stopped, capsys)
    assert not ok and "3 task(s) still running" in out and "queue.shutdown()" in out


def test_pipeline_rejects_cancelled_but_not_awaited(capsys):
    async def not_awaited(jobs, work, workers, maxsize):
        queue, results = asyncio.Queue(maxsize), []

        async def worker():
            while True:
                results.append(await work(await queue.get()))
                queue.task_done()

        pool = [asyncio.create_task(worker()) for _ in range(workers)]
        async for job in jobs:
            await queue.put(job)
        await queue.join()
        for task in pool:
            task.cancel()  # asked, but not waited for
        return results

    ok, out = run_check(ct.check_pipeline, not_awaited, capsys)
    assert not ok and "still running" in out


def test_pipeline_reports_a_hang(capsys):
    async def waits_for_ever(jobs, work, workers, maxsize):
        queue = asyncio.Queue(maxsize)

        async def worker():
            while True:
                await work(await queue.get())

        async with asyncio.TaskGroup() as tg:  # the workers never end, nor does the group
            for _ in range(workers):
                tg.create_task(worker())
            async for job in jobs:
                await queue.put(job)
        return []

    ok, out = run_check(ct.check_pipeline, waits_for_ever, capsys)
    assert not ok and "to finish within 3 s" in out


def test_pipeline_rejects_a_plain_function(capsys):
    def plain(jobs, work, workers, maxsize):
        return []

    ok, out = run_check(ct.check_pipeline, plain, capsys)
    assert not ok and "an async function" in out


# --- 7.2 ---------------------------------------------------------------------------------------


def test_totals_accepts_solution(capsys):
    ok, out = run_check(ct.check_totals, SOL.Totals, capsys)
    assert ok, out
    assert out.startswith("✅ Exercise 7.2")


class Template:
    def __init__(self, store):
        self.store = store

    async def add(self, key, amount):
        raise NotImplementedError


def test_totals_template_is_not_done(capsys):
    ok, out = run_check(ct.check_totals, Template, capsys)
    assert not ok and "not done yet" in out


class NoLock(Template):
    async def add(self, key, amount):
        total = await self.store.read(key)
        await self.store.write(key, total + amount)


class OneLockForAll(Template):
    def __init__(self, store):
        super().__init__(store)
        self.lock = asyncio.Lock()

    async def add(self, key, amount):
        async with self.lock:
            total = await self.store.read(key)
            await self.store.write(key, total + amount)


class NewLockEachCall(Template):
    async def add(self, key, amount):
        async with asyncio.Lock():
            total = await self.store.read(key)
            await self.store.write(key, total + amount)


class LockAroundTheWriteOnly(OneLockForAll):
    async def add(self, key, amount):
        total = await self.store.read(key)
        async with self.lock:
            await self.store.write(key, total + amount)


@pytest.mark.parametrize("wrong", [NoLock, NewLockEachCall, LockAroundTheWriteOnly])
def test_totals_rejects_lost_updates(wrong, capsys):
    ok, out = run_check(ct.check_totals, wrong, capsys)
    assert not ok
    assert "no addition lost" in out and "the adds of one key take turns" in out
    assert "'a': read, read, read, write, write, write" in out


def test_totals_rejects_one_lock_for_every_key(capsys):
    ok, out = run_check(ct.check_totals, OneLockForAll, capsys)
    assert not ok
    assert "adds of different keys run at the same time" in out and "defaultdict" in out
    assert "no addition lost" not in out.split("already right")[0]


def test_totals_rejects_a_plain_add(capsys):
    class Plain(Template):
        def add(self, key, amount):
            return None

    ok, out = run_check(ct.check_totals, Plain, capsys)
    assert not ok and "not a coroutine" in out


def test_totals_rejects_something_without_add(capsys):
    ok, out = run_check(ct.check_totals, lambda store: {"store": store}, capsys)
    assert not ok and "an add(key, amount) method" in out
