"""The referee of timed checks, on made-up logs and beats (no sleeping), and once for real."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from aiocourse.checks import UNIT
from aiocourse.checks.referee import EventLog, Referee, late, overlapped, units
from aiocourse.exercises import Exercise

HALF = UNIT / 2


def beat(start: float, end: float, *, pause: tuple[float, float] | None = None) -> list[float]:
    """A beat every half unit from start to end; none inside a pause (the loop ran no timer),
    and after it the beat goes on from when it ran again, as Referee's does."""
    beats, t = [], start + HALF
    while t <= end:
        if pause and pause[0] < t < pause[1]:
            t = pause[1]
        beats.append(t)
        t += HALF
    return beats


def test_an_event_after_the_deadline_on_a_free_loop_is_late():
    beats = beat(0, 10 * UNIT)
    assert late(6 * UNIT, 4 * UNIT, beats)          # four beats ran between 4 and 6
    assert not late(4.4 * UNIT, 4 * UNIT, beats)    # a hair late: at most one beat between
    assert late(None, 4 * UNIT, beats)              # never came, and the loop was free


def test_a_pause_of_the_whole_loop_is_not_the_answers_fault():
    # The loop was paused from 3.9 to 6 units (another program, a collection): the answer's
    # timer, due at 4, ran at 6, and so did the beat.
    beats = beat(0, 10 * UNIT, pause=(3.9 * UNIT, 6 * UNIT))
    assert not late(6.01 * UNIT, 4 * UNIT, beats)
    # ...but an answer still missing a unit after the pause is late again.
    assert late(7.2 * UNIT, 4 * UNIT, beats)


def test_a_uniformly_slow_machine_does_not_fail_a_right_answer():
    # Everything 3x slower: each beat runs 3 half-units after the last; the answer's 4-unit
    # sleep, late by the same, ends just after the beat that ran past it.
    beats = [3 * HALF * k for k in range(1, 20)]
    assert not late(4 * UNIT * 1.3, 4.5 * UNIT, beats)
    # A wrong answer that took 10 units instead of 4 is refused even so.
    assert late(10 * UNIT, 4.5 * UNIT, beats)


def test_how_many_beats_count_is_a_parameter():
    beats = beat(0, 10 * UNIT)
    assert late(5.1 * UNIT, 4 * UNIT, beats, count=1)
    assert not late(4.2 * UNIT, 4 * UNIT, beats, count=1)


def test_overlap_and_units():
    assert overlapped((0, 2), (1, 3)) and overlapped((0, None), (5, 6))
    assert not overlapped((0, 1), (1, 2)) and not overlapped((2, 3), (0, 1.5))
    assert units(2.44 * UNIT) == "2.4 units" and units(None) == "never"


def test_the_log_tells_order_threads_and_what_is_still_running():
    log = EventLog()
    log.record("start", "a")
    log.record("start", "b")
    log.record("end", "a")

    def elsewhere():
        log.record("start", "c")
        log.record("cancelled", "c")

    t = threading.Thread(target=elsewhere, name="other")
    t.start()
    t.join()
    assert log.keys("start") == ["a", "b", "c"]
    assert log.running() == ["b"]
    assert log.threads() == ["MainThread", "other"]
    spans = log.spans()
    assert spans["a"][2] == "end" and spans["b"][1] is None and spans["c"][2] == "cancelled"
    assert log.first("start") <= log.last("end")
    with pytest.raises(TypeError, match="'start'"):
        log.record("")


def test_the_referee_judges_a_real_answer_and_stops_its_beat():
    async def right(fetch):
        return await asyncio.gather(fetch("a"), fetch("b"))

    async def wrong(fetch):
        return [await fetch("a"), await fetch("b")]

    async def judge(answer):
        ex = Exercise("0.0", "referee test")
        ref = Referee()
        fetch = ref.sleeper({"a": 2, "b": 2})
        async with ex.attempt(), ref.beating():
            result, _ = await ref.run(ex, answer(fetch))
        assert result == ["page a", "page b"]
        loop = asyncio.get_running_loop()
        assert ref._handle is None and not any(
            getattr(h, "_callback", None) is not None and "beat" in repr(h._callback)
            for h in getattr(loop, "_scheduled", []) if not h.cancelled())
        return ref.late(ref.log.last("answer returned"), 2)

    assert asyncio.run(judge(right)) is False
    assert asyncio.run(judge(wrong)) is True


def test_a_blocked_loop_runs_no_beat():
    async def main():
        ref = Referee()
        async with ref.beating():
            await asyncio.sleep(HALF * 1.5)
            time.sleep(3 * UNIT)  # no timer runs meanwhile, the beat's included
            await asyncio.sleep(0)
        return ref

    ref = asyncio.run(main())
    assert len(ref.beats) <= 3  # one before the block, at most one or two after it


def test_misuse():
    with pytest.raises(ValueError, match="unit"):
        Referee(unit=0)

    async def twice():
        ref = Referee()
        async with ref.beating():
            async with ref.beating():
                pass

    with pytest.raises(RuntimeError, match="already beating"):
        asyncio.run(twice())
