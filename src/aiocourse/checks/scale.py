"""Checks for notebook 16 (how far one event loop goes).

    from aiocourse.checks.scale import check_few_timers
    await check_few_timers(few_timers)   # prints feedback, returns True or False

The checks hand the answer a ``work`` coroutine function (or a ``done`` callback) they wrote, so
they know how many ran at once and when, and count the timers the event loop holds while the
answer's tasks wait.  Lateness is the referee's beat's verdict.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ..exercises import Exercise
from . import UNIT
from .referee import late as referee_late

__all__ = ["UNIT", "check_few_timers", "check_worker_pool"]


async def check_few_timers(answer: Callable[..., Any]) -> bool:
    """Exercise 16.1: ``await answer(delays, done)`` starts one task per entry of ``delays``;
    task ``i`` calls ``done(i)`` once ``delays[i]`` seconds have passed.  Only a few distinct
    delays occur, and the event loop should hold about one timer per distinct delay, not one
    per task."""
    ex = Exercise("16.1", "3,000 tasks, three deadlines, three timers")
    n = 3000
    # 0.1, 0.4 and 0.7 s: making 3,000 tasks took up to 0.25 s under make load, and a deadline
    # that passes while the loop is still busy tells nothing about the answer.
    deadlines = (0.1, 0.4, 0.7)
    delays = [deadlines[i % 3] for i in range(n)]
    loop = asyncio.get_running_loop()
    scheduled = getattr(loop, "_scheduled", None)  # asyncio's heap of timers (not uvloop's)
    peak = [0]
    handles: list[asyncio.TimerHandle] = []
    called: dict[int, float] = {}  # seconds from the start
    twice: list[int] = []
    t0 = 0.0  # the answer's start, on the referee's clock

    def done(i: int) -> None:
        if i in called:
            twice.append(i)
        called[i] = ex.ref.now() - t0

    def sample() -> None:
        # A sampler of the check itself, every half unit while the answer runs, counting the
        # timers in the heap.  Cancelled timers stay in the heap for a while (an earlier run's
        # time limit): not counted.
        if scheduled is not None:
            live = sum(1 for handle in scheduled if not handle.cancelled())
            peak[0] = max(peak[0], live - 1)  # minus this sampler's own next timer
        handles.append(loop.call_later(UNIT / 2, sample))

    async with ex.attempt():
        sample()
        t0 = ex.ref.now()
        try:
            await ex.run(answer(delays, done), timeout=3)
        finally:
            for handle in handles:
                handle.cancel()
        missing = n - len(called)
        ex.expect(not missing and not twice, f"done(i) is called once for each of the {n} tasks",
                  got=f"{missing} never called" if missing else f"called twice for {twice[:3]}",
                  stop=True)
        early = [i for i, t in called.items() if t < delays[i] - 0.05 * UNIT]
        ex.expect(not early, "no task calls done(i) before its delay",
                  got=f"{len(early)} early, e.g. task {early[0]} at {called[early[0]]:.2f} s "
                      f"instead of {delays[early[0]]} s" if early else None)
        # Judged by the first task of each deadline: the rest follow as fast as the loop can
        # run them, which depends on the machine.  Two kinds of lateness are the machine's:
        # - every deadline late by the same amount (an answer whose timers start once all the
        #   tasks are made: 0.25 s under make load);
        # - a loop that is busy (making the tasks: 0.19 s seen in CI) or paused (the machine's
        #   other work, a GC: 0.12 s seen in CI just after the 0.7 s deadline).  It runs no
        #   timer meanwhile, the check's own included.
        # So a group is late only if the referee's beat (a timer of the check's own) ran twice
        # after the allowance while the group's first task still had not called done(i).
        groups = {d: [i for i in called if delays[i] == d] for d in deadlines}
        first = {d: min(called[i] for i in group) for d, group in groups.items()}
        shared = max(0.0, min(first[d] - d for d in deadlines))
        late: list[int] = []
        beats = [b - t0 for b in ex.ref.beats]
        for d, group in groups.items():
            if referee_late(first[d], d + shared + 1.5 * UNIT, beats):
                late += group
        ex.expect(not late, "each task calls done(i) soon after its delay (0.1, 0.4 or 0.7 s)",
                  got=f"{len(late)} late, e.g. task {late[0]} at {called[late[0]]:.2f} s "
                      f"instead of {delays[late[0]]} s" if late else None)
        if scheduled is not None:
            ex.expect(peak[0] <= 6, "a few timers in the loop (one per distinct delay), not one "
                                    "per task", got=f"{peak[0]} timers at once",
                      hint="asyncio.sleep() schedules one timer per call: make one future per "
                           "distinct delay, set by loop.call_later(delay, fut.set_result, None), "
                           "and let the tasks await those futures")
    if ex.timeline is not None and ex.passed:
        made = sum(1 for s in ex.timeline.spans if s.kind == "task")
        ex.expect(made >= n, f"starts a task per entry ({n})", got=f"{made} tasks",
                  hint="one task per entry of delays: asyncio.create_task or gather")
    return ex.report()


async def check_worker_pool(answer: Callable[..., Any]) -> bool:
    """Exercise 16.2: ``await answer(jobs, work, workers)`` returns ``[await work(job) for job
    in jobs]`` (same order), running ``workers`` jobs at a time with only ``workers`` tasks."""
    ex = Exercise("16.2", "200 jobs, 20 workers, 20 tasks")
    jobs = list(range(200))
    running = [0, 0]  # now, most at once

    async def work(job: int) -> int:
        running[0] += 1
        running[1] = max(running[1], running[0])
        try:
            await asyncio.sleep(UNIT)
        finally:
            running[0] -= 1
        return job * job

    result: Any = None
    async with ex.attempt():
        result, run = await ex.timed(answer(jobs, work, 20))
        ex.expect(result == [j * j for j in jobs],
                  "returns every job's result in the order of `jobs`",
                  got=result if not isinstance(result, list) or len(result) <= 3
                  else f"a list of {len(result)}, starting {result[:3]}",
                  hint="store each result at its job's index: results[i] = await work(job)",
                  stop=True)
        ex.expect(running[1] == 20, "20 jobs run at once (not more, not fewer)",
                  got=f"{running[1]} at once")
        # Ten rounds of wake-ups in a row: a busy machine adds a little to each.
        ex.expect(not ex.slow(run, 10, allowance=4),
                  "takes about 0.5 s (200 jobs, 20 at a time, 0.05 s each)",
                  got=f"{run.took:.2f} s")
    if ex.timeline is not None and result == [j * j for j in jobs]:
        tasks = [s for s in ex.timeline.spans if s.kind == "task"]
        ex.expect(ex.timeline.max_concurrency() <= 21 and len(tasks) <= 25,
                  "at most 20 worker tasks, however many jobs there are",
                  got=f"{len(tasks)} tasks, {ex.timeline.max_concurrency()} alive at once",
                  hint="a task per job costs memory for every job: start `workers` tasks "
                       "that take jobs from an asyncio.Queue (or a shared iterator)")
    return ex.report()
