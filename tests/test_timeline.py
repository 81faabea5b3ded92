"""The Timeline recorder: what it records, what it restores, and what misuse says."""

from __future__ import annotations

import asyncio
import functools
import gc
import sys
import threading
import time
from asyncio import base_events, events

import pytest
from matplotlib.figure import Figure

from aiocourse import Timeline, _probe
from aiocourse import timeline as tlmod

UNIT = 0.02


async def work(units: float, result=None):
    await asyncio.sleep(units * UNIT)
    return result


async def boom():
    await asyncio.sleep(UNIT)
    raise ValueError("boom")


@pytest.fixture
def other():
    """An event loop running forever in a thread named "loop-thread"; stopped and closed after."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="loop-thread")
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()


def originals() -> tuple:
    return (events.Handle._run, base_events.BaseEventLoop.create_task,
            base_events.BaseEventLoop._call_soon,
            base_events.BaseEventLoop.call_soon_threadsafe,
            base_events.BaseEventLoop.run_in_executor)


ORIGINALS = originals()


def test_records_concurrent_tasks_with_states():
    async def main():
        async with Timeline() as tl:
            a = asyncio.create_task(work(1, "a"), name="a")
            b = asyncio.create_task(work(3, "b"), name="b")
            c = asyncio.create_task(boom(), name="c")
            d = asyncio.create_task(work(10), name="d")
            await asyncio.wait([a, b, c])
            d.cancel()
            await asyncio.gather(d, return_exceptions=True)
        return tl

    tl = asyncio.run(main())
    assert [s.name for s in tl.spans] == ["a", "b", "c", "d"]
    assert tl["a"].state == "done" and tl["b"].state == "done"
    assert tl["c"].state == "error" and tl["c"].error == "ValueError('boom')"
    assert tl["d"].state == "cancelled"
    # all four started before any ended (at once, not one after another); b took its 3 units
    assert max(s.start for s in tl.spans) < min(s.end for s in tl.spans)
    assert tl["b"].end - tl["b"].start >= 3 * UNIT
    assert len(tl["a"].slices) == 2  # started, then resumed after the sleep
    assert tl["a"].running < (tl["a"].end - tl["a"].start) / 2  # it mostly waited
    assert tl.max_concurrency() == 4
    text = tl.text(unit=UNIT, ndigits=0)
    assert text.splitlines()[0].split() == ["name", "start", "end", "ran", "state"]
    assert "error ValueError('boom')" in text and "cancelled" in text
    assert originals() == ORIGINALS


def test_unnamed_tasks_are_labelled_by_coroutine_not_counter():
    async def main():
        async with Timeline() as tl:
            await asyncio.gather(work(1), work(2), boom(), return_exceptions=True)
        return tl

    names = [s.name for s in asyncio.run(main()).spans]
    assert names == ["work#1", "work#2", "boom"]


def test_blocking_call_shows_as_a_long_slice():
    async def blocker():
        time.sleep(3 * UNIT)

    async def main():
        async with Timeline() as tl:
            await asyncio.gather(asyncio.create_task(blocker(), name="blocker"),
                                 asyncio.create_task(work(1), name="other"))
        return tl

    tl = asyncio.run(main())
    assert tl["blocker"].running >= 3 * UNIT
    # "other" could not even start its sleep before the blocker let go of the thread
    assert tl["other"].end >= 3 * UNIT


def test_executor_callbacks_and_threads():
    def blocking(x):
        time.sleep(x * UNIT)
        return x

    async def main():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        async with Timeline() as tl:
            await asyncio.to_thread(blocking, 2)
            loop.call_soon_threadsafe(fut.set_result, None)  # asyncio internals are skipped?
            loop.call_soon_threadsafe(blocking, 1)
            await fut
            await asyncio.sleep(2 * UNIT)
        return tl

    tl = asyncio.run(main())
    kinds = {s.name: s.kind for s in tl.spans}
    assert kinds["blocking(2)"] == "executor"
    assert kinds["blocking(1)"] == "callback"
    assert tl["blocking(2)"].thread != "MainThread"
    assert tl["blocking(1)"].thread == "MainThread"
    assert tl["blocking(2)"].running >= 2 * UNIT
    assert "thread" in tl.text(unit=UNIT).splitlines()[0]


def test_tasks_on_a_loop_in_another_thread(other):
    async def main():
        async with Timeline() as tl:
            f1 = asyncio.run_coroutine_threadsafe(work(2, 1), other)
            f2 = asyncio.run_coroutine_threadsafe(work(1, 2), other)
            assert await asyncio.wrap_future(f1) == 1
            await asyncio.wrap_future(f2)
        return tl

    tl = asyncio.run(main())
    assert {s.thread for s in tl.spans} == {"loop-thread"}
    assert [s.state for s in tl.spans] == ["done", "done"]
    first, second = tl.spans
    assert second.start < first.end and first.start < second.end  # they overlapped


def test_unfinished_tasks_are_reported_and_returned():
    async def main():
        async with Timeline() as tl:
            t = asyncio.create_task(work(50), name="slow")
            await asyncio.sleep(0)
        assert tl.unfinished_tasks == [t]
        assert tl["slow"].state == "pending" and tl["slow"].end is None
        t.cancel()
        await asyncio.gather(t, return_exceptions=True)
        assert tl.unfinished_tasks == []
        return tl

    tl = asyncio.run(main())
    assert "pending" in tl.text()


def test_kernel_like_tasks_outside_the_context_are_not_recorded():
    async def main():
        stop = asyncio.Event()

        async def background():  # started before the Timeline, like a kernel's own task
            while not stop.is_set():
                asyncio.get_running_loop().create_task(asyncio.sleep(0))
                await asyncio.sleep(UNIT / 4)

        bg = asyncio.create_task(background())
        await asyncio.sleep(0)
        async with Timeline() as tl:
            await work(2)
        stop.set()
        await bg
        return tl

    assert asyncio.run(main()).spans == ()


def test_loop_is_restored_also_on_error():
    def factory(loop, coro, **kwargs):
        return asyncio.Task(coro, loop=loop, **kwargs)

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_task_factory(factory)
        handler = loop.get_exception_handler()
        with pytest.raises(KeyError):
            async with Timeline() as tl:
                assert events.Handle._run is not ORIGINALS[0]
                await asyncio.create_task(work(1), name="inside")
                raise KeyError("oops")
        assert loop.get_task_factory() is factory
        assert loop.get_exception_handler() is handler
        assert originals() == ORIGINALS
        assert tl["inside"].state == "done"

    asyncio.run(main())


def test_task_exception_is_not_marked_retrieved():
    # The recorder reads the exception without retrieving it, so asyncio still warns about it.
    seen = []

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, ctx: seen.append(ctx["message"]))
        async with Timeline() as tl:
            t = asyncio.create_task(boom(), name="unretrieved")
            await asyncio.sleep(2 * UNIT)
        assert t.done()
        del t
        gc.collect()
        return tl

    tl = asyncio.run(main())
    assert tl["unretrieved"].state == "error"
    assert seen == ["Task exception was never retrieved"]


def test_misuse_gives_clear_errors():
    tl = Timeline()
    with pytest.raises(TypeError, match="async with Timeline"):
        with tl:
            pass
    with pytest.raises(RuntimeError, match="has not recorded anything yet"):
        tl.text()

    async def twice():
        async with tl:
            with pytest.raises(RuntimeError, match="still recording"):
                tl.spans  # noqa: B018
            with pytest.raises(RuntimeError, match="another Timeline is already recording"):
                async with Timeline():
                    pass
        with pytest.raises(RuntimeError, match="already used"):
            async with tl:
                pass

    asyncio.run(twice())
    assert originals() == ORIGINALS
    with pytest.raises(ValueError, match="unit must be a positive"):
        tl.text(unit=0)
    with pytest.raises(ValueError, match="ndigits"):
        tl.text(ndigits=-1)
    with pytest.raises(KeyError, match="no span named 'x'"):
        tl["x"]


def test_two_timelines_in_two_threads_do_not_mix():
    results = {}

    def run(name):
        async def main():
            async with Timeline() as tl:
                await asyncio.gather(*(asyncio.create_task(work(1), name=f"{name}-{i}")
                                       for i in range(3)))
            results[name] = tl
        asyncio.run(main())

    threads = [threading.Thread(target=run, args=(n,)) for n in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s.name for s in results["x"].spans] == ["x-0", "x-1", "x-2"]
    assert [s.name for s in results["y"].spans] == ["y-0", "y-1", "y-2"]
    assert originals() == ORIGINALS


def test_plot_returns_a_figure_and_scales():
    async def main(n):
        async with Timeline() as tl:
            tasks = [asyncio.create_task(work(i % 3), name=f"t{i}") for i in range(n)]
            tasks[0].cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return tl

    small = asyncio.run(main(3)).plot("three tasks")
    assert isinstance(small, Figure)
    ax = small.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["t2", "t1", "t0"]
    assert ax.get_title() == "three tasks"
    big = asyncio.run(main(10_000))
    fig = big.plot()
    fig.canvas.draw()
    # One collection per colour of bar and per kind of mark, never one artist per task
    # (bench/timeline_overhead.py times it).
    from aiocourse import timeline_plot

    assert len(fig.axes[0].collections) <= 3 + 1 + len(timeline_plot.MARKERS)


def test_probe_is_idle_when_no_timeline():
    assert _probe.users() == 0
    assert originals() == ORIGINALS


def test_task_lost_to_garbage_collection_is_marked_destroyed():
    messages = []

    async def waits_forever():
        await asyncio.get_running_loop().create_future()  # nobody else holds this future

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, ctx: messages.append(ctx["message"]))
        async with Timeline() as tl:
            asyncio.create_task(waits_forever(), name="lost")  # no reference kept: a bug
            await asyncio.sleep(0)
            gc.collect()
        return tl

    tl = asyncio.run(main())
    assert tl["lost"].state == "destroyed"
    assert messages == ["Task was destroyed but it is pending!"]


def test_an_object_at_a_lost_tasks_address_is_not_taken_for_it():
    # A task collected while pending stays in the recording's index (id -> number); another
    # object may get its address.  Its callbacks must run as they would, unrecorded.
    ran = []

    class NotATask:
        def method(self):
            ran.append("ran")

    async def main():
        async with Timeline() as tl:
            task = asyncio.create_task(asyncio.sleep(0), name="real")
            obj = NotATask()
            lost = tl._new_task(0.0, "lost", "lost")  # as if obj had a lost task's address
            tl._index[id(obj)] = lost
            asyncio.get_running_loop().call_soon(obj.method)
            await task
            await asyncio.sleep(0)
        return tl

    tl = asyncio.run(main())
    assert ran == ["ran"]
    assert tl["real"].state == "done" and len(tl["real"].slices) == 2
    assert tl["lost"].state == "destroyed" and tl["lost"].slices == ()


def test_the_copy_of_call_soon_is_this_pythons():
    # _probe._call_soon replaces BaseEventLoop._call_soon and ends with a copy of its body.
    import inspect

    def body(func) -> list[str]:
        lines = [line.strip() for line in inspect.getsource(func).splitlines()]
        return [line for line in lines if line and not line.startswith(("#", "def "))]

    original = body(ORIGINALS[2])
    assert body(_probe._call_soon)[-len(original):] == original


def test_round_late_leans_early():
    from aiocourse import round_late

    assert [round_late(x) for x in (0.0, 0.74, 0.76, 5.7, 6.0, 6.2)] == [0, 0, 1, 5, 6, 6]
    assert round_late(0.34, 1) == 0.3 and round_late(0.38, 1) == 0.4
    assert round_late(-0.01) == 0  # clock jitter never prints "-0"
    assert str(round_late(4.1)) == "4"  # an int, as round() gives


def test_only_keeps_the_rows_of_the_lesson():
    async def main():
        async with Timeline() as tl:
            await asyncio.gather(asyncio.create_task(work(1), name="job 1"),
                                 asyncio.create_task(work(2), name="helper"))
        return tl

    tl = asyncio.run(main())
    jobs = tl.only(lambda s: s.name.startswith("job "))
    assert [s.name for s in jobs.spans] == ["job 1"] and jobs.duration == tl.duration
    assert "helper" not in jobs.text()
    with pytest.raises(TypeError, match="function of a Span"):
        tl.only("job")


def test_a_failing_callback_is_reported_as_without_recording():
    seen = []

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, ctx: seen.append(type(ctx["exception"])))
        async with Timeline():
            loop.call_soon(lambda: 1 / 0)
            await asyncio.sleep(0.01)

    asyncio.run(main())
    assert seen == [ZeroDivisionError]


def test_callback_run_at_once_by_another_thread_is_recorded(other):
    import sys

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # let the loop's thread run the callback before we return
    try:
        async def main():
            async with Timeline() as tl:
                done = threading.Event()
                for _ in range(30):
                    other.call_soon_threadsafe(time.sleep, 0)
                other.call_soon_threadsafe(done.set)
                await asyncio.to_thread(done.wait, 5)
            return tl

        tl = asyncio.run(main())
    finally:
        sys.setswitchinterval(interval)
    callbacks = [s for s in tl.spans if s.kind == "callback"]
    assert len(callbacks) == 31
    assert {(s.state, s.thread) for s in callbacks} == {("done", "loop-thread")}


def test_debug_mode_reprs_name_the_callers_line_not_the_recorder():
    async def main():
        async with Timeline():
            task = asyncio.create_task(work(0))
            text = repr(task)
            await task
        return text

    text = asyncio.run(main(), debug=True)
    assert "created at" in text and "aiocourse" not in text.split("created at")[1]


def test_cancelling_a_cross_thread_future_adds_no_row(other):
    async def main():
        async with Timeline() as tl:
            f = asyncio.run_coroutine_threadsafe(work(50), other)
            await asyncio.sleep(UNIT)
            f.cancel()  # asyncio hands task.cancel to the other loop's thread
            await asyncio.sleep(UNIT)
        return tl

    tl = asyncio.run(main())
    assert [(s.name, s.state) for s in tl.spans] == [("work", "cancelled")]


def test_a_call_that_started_late_but_ended_on_time_adds_up_across_its_row():
    # Under load a to_thread(thread.join) began 0.3 units late and ended at 9: ran 8.7 units.
    # Start and end are shown leaning early (0 and 9), so ran is shown as 9 - 0, not 8.
    late_join = tlmod.Span(name="Thread.join()", kind="executor", thread="asyncio_0",
                           created=0.0, slices=((0.3, 9.0),), end=9.0, state="done")
    task = tlmod.Span(name="steps", kind="task", thread="MainThread", created=0.0,
                      slices=((0.0, 0.2), (2.0, 2.3)), end=2.3, state="done")

    class Fixed(Timeline):
        spans = (task, late_join)
        duration = 9.0

    rows = Fixed().text(ndigits=0).splitlines()
    assert rows[1].split()[-4:] == ["0", "2", "0", "done"]  # a task: its slices, 0.5 -> 0
    assert rows[2].split()[-4:] == ["0", "9", "9", "done"]


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def _first_slice_then(units: float, busy: float):
    _busy(busy)  # the first step holds the thread: its slice is measurable
    if units:
        await asyncio.sleep(units * UNIT)
    return "ok"


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks are new in 3.12")
def test_eager_task_factory_keeps_the_first_slice_and_an_eager_finish():
    async def main():
        asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
        async with Timeline() as tl:
            waits = asyncio.create_task(_first_slice_then(1, UNIT), name="waits")
            at_once = asyncio.create_task(_first_slice_then(0, UNIT), name="at once")
            assert at_once.done() and not waits.done()  # eager: it ran inside create_task
            await waits
        return tl

    tl = asyncio.run(main())
    for name in ("waits", "at once"):
        span = tl[name]
        assert span.state == "done" and span.thread == "MainThread", span
        assert span.slices[0][1] - span.slices[0][0] >= UNIT  # the eager first step is there
    assert len(tl["waits"].slices) == 2 and len(tl["at once"].slices) == 1


@pytest.mark.skipif(sys.version_info < (3, 14), reason="create_task(eager_start=...) is 3.14's")
def test_eager_start_per_task_keeps_the_first_slice_and_an_eager_finish():
    async def main():
        async with Timeline() as tl:
            waits = asyncio.create_task(_first_slice_then(1, UNIT), name="waits",
                                        eager_start=True)
            at_once = asyncio.create_task(_first_slice_then(0, UNIT), name="at once",
                                          eager_start=True)
            lazy = asyncio.create_task(_first_slice_then(0, 0), name="lazy")
            assert at_once.done() and not lazy.done()
            await asyncio.gather(waits, lazy)
        return tl

    tl = asyncio.run(main())
    assert [tl[n].state for n in ("waits", "at once", "lazy")] == ["done"] * 3
    assert {tl[n].thread for n in ("waits", "at once", "lazy")} == {"MainThread"}
    assert tl["at once"].slices[0][1] - tl["at once"].slices[0][0] >= UNIT
    assert len(tl["waits"].slices) == 2 and len(tl["lazy"].slices) == 1
    # the eager one ran before the lazy one, which waited for the loop's next pass
    assert tl["at once"].slices[0][1] <= tl["lazy"].slices[0][0]


class _TaskLike(asyncio.Future):
    """A Task-like object from a task factory: a Future that drives its coroutine itself,
    with no name and none of asyncio.Task's private slots."""

    def __init__(self, coro, loop):
        super().__init__(loop=loop)
        self._coro = coro
        loop.call_soon(self._step)

    def _step(self, value=None):
        try:
            waiting = self._coro.send(value)
        except StopIteration as stop:
            self.set_result(stop.value)
        except BaseException as exc:  # noqa: BLE001 - a test double
            self.set_exception(exc)
        else:
            if waiting is None:  # a bare yield (asyncio.sleep(0)): run again on the next pass
                self.get_loop().call_soon(self._step)
            else:
                waiting.add_done_callback(self._wakeup)

    def _wakeup(self, future):  # a bound method, as asyncio.Task's: how a step is told apart
        self._step(future.result())

    def set_name(self, name):  # asked for by loop.create_task(name=...); there is no get_name
        pass

    def get_coro(self):
        return self._coro


def test_a_task_factory_may_return_a_task_like_object():
    async def job():
        await asyncio.sleep(UNIT)
        return 42

    async def fails():
        await asyncio.sleep(0)
        raise ValueError("no")

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_task_factory(lambda loop, coro, **kwargs: _TaskLike(coro, loop))
        loop.set_debug(True)  # create_task then reads the task's _source_traceback
        async with Timeline() as tl:
            ok = loop.create_task(job(), name="ignored by the factory")
            bad = loop.create_task(fails())
            assert await ok == 42
            with pytest.raises(ValueError):
                await bad
        loop.set_task_factory(None)
        return tl

    tl = asyncio.run(main())
    assert [(s.name, s.state, s.error) for s in tl.spans] == [
        ("ignored by the factory", "done", None), ("fails", "error", "ValueError('no')")]
    assert len(tl["ignored by the factory"].slices) == 2


class _NoRoomTaskLike(_TaskLike):
    """A Task-like object that takes no attribute it does not know."""

    def __setattr__(self, name, value):
        if not name.startswith("_") or name.startswith("_aiocourse"):
            raise AttributeError(f"{type(self).__name__} takes no attribute {name!r}")
        super().__setattr__(name, value)


def test_a_task_like_object_with_no_room_for_its_number_is_recorded_by_its_address():
    async def job():
        await asyncio.sleep(0)
        return 1

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_task_factory(lambda loop, coro, **kwargs: _NoRoomTaskLike(coro, loop))
        try:
            async with Timeline() as tl:
                task = loop.create_task(job())
                assert tl._index == {id(task): 0}
                assert await task == 1
                assert tl._index == {}  # left when it finished
        finally:
            loop.set_task_factory(None)
        return tl

    tl = asyncio.run(main())
    assert [(s.name, s.state, len(s.slices)) for s in tl.spans] == [("job", "done", 2)]


def test_no_task_keeps_the_recordings_mark():
    # A recorded task carries its number (an attribute named tl._key) while it is followed:
    # the finished ones, the pending ones and the caller lose it when the block ends.
    async def main():
        stop = asyncio.Event()
        async with Timeline(caller="main") as tl:
            done = asyncio.create_task(asyncio.sleep(0), name="done")
            waiting = asyncio.create_task(stop.wait(), name="waiting")
            assert getattr(waiting, tl._key) == 2
            await done
            await asyncio.sleep(0)
        marked = [t.get_name() for t in (done, waiting, asyncio.current_task())
                  if hasattr(t, tl._key)]
        stop.set()
        await waiting
        return tl, marked

    tl, marked = asyncio.run(main())
    assert marked == []
    assert [(s.name, s.state) for s in tl.spans] == [
        ("main", "done"), ("done", "done"), ("waiting", "pending")]


# --- the caller's row, readiness, what a task waits for, marks --------------------------------


def test_caller_row_shows_the_block_and_how_it_ended():
    async def fails_at(units):
        await asyncio.sleep(units * UNIT)
        raise ValueError("late")

    async def main():
        async with Timeline(caller="main") as ok:
            await asyncio.gather(work(1), work(2))
        with pytest.raises(ValueError):
            async with Timeline(caller="main") as bad:
                await asyncio.gather(fails_at(1), work(3))
        async with Timeline(caller="main") as caught:
            try:
                await asyncio.gather(fails_at(1), work(3))
            except ValueError:
                pass
        return ok, bad, caught

    ok, bad, caught = asyncio.run(main())
    main_ok = ok["main"]
    assert (main_ok.kind, main_ok.state, main_ok.thread) == ("caller", "done", "MainThread")
    assert main_ok.end == pytest.approx(ok.duration) and main_ok.created == 0.0
    assert len(main_ok.slices) == 2  # until it awaited gather, and after gather woke it
    assert main_ok.waits[0] == "task"
    assert main_ok.slices[1][0] >= 2 * UNIT
    assert ok.max_concurrency() == 2  # the caller waits for the others: it does not count
    assert bad["main"].state == "error" and bad["main"].error == "ValueError('late')"
    assert bad.text().splitlines()[1].split()[0] == "main"  # the caller is the first row
    # Caught inside the block: the block ends well, and the row shows where it was thrown in.
    assert caught["main"].state == "done"
    assert [what for _, what in caught["main"].marks] == ["exception thrown in"]
    thrown = caught["main"].marks[0][0]
    assert UNIT <= thrown <= caught.duration and caught["work"].state == "pending"


def test_a_task_made_to_wait_by_a_blocking_one_was_ready_all_along():
    async def blocks():
        time.sleep(2 * UNIT)

    async def main():
        async with Timeline() as tl:
            await asyncio.gather(blocks(), work(1))
        return tl

    tl = asyncio.run(main())
    a, b = tl["blocks"], tl["work"]
    assert b.ready[0] == b.created < a.slices[0][1] <= b.start  # ready from its creation
    assert b.start >= 2 * UNIT


def test_a_late_timer_keeps_its_due_time():
    async def main():
        async with Timeline() as tl:
            sleeper = asyncio.create_task(work(1), name="sleeper")
            await asyncio.sleep(0)
            time.sleep(3 * UNIT)  # the loop is blocked past the sleeper's due time
            await sleeper
        return tl

    tl = asyncio.run(main())
    s = tl["sleeper"]
    due = [t for t, what in s.marks if what == "timer due"]
    # Due 1 unit after it started (on the loop's own clock), run after the 3-unit block.
    assert len(due) == 1 and due[0] >= s.slices[0][0] + UNIT * 0.99
    assert s.slices[1][0] >= due[0] + 2 * UNIT and s.ready[1] >= due[0] + 2 * UNIT


def test_what_a_task_waits_for_is_recorded():
    async def main():
        sem, queue, event, lock = asyncio.Semaphore(0), asyncio.Queue(), asyncio.Event(), \
            asyncio.Lock()

        async def on_sem():
            async with sem:
                pass

        async def on_lock():
            async with lock:
                pass

        async def on_task(t):
            await t

        # The thread waits for the gate, opened only once every task has suspended: a thread
        # done before its task awaits the future would let the task finish in its first slice
        # (wrap_future sets the result at once when it is already done: seen once on 3.15).
        gate = threading.Event()
        async with Timeline() as tl:
            await lock.acquire()
            sleeper = asyncio.create_task(work(1), name="sleep")
            tasks = [asyncio.create_task(on_sem(), name="sem"),
                     asyncio.create_task(queue.get(), name="queue"),
                     asyncio.create_task(event.wait(), name="event"),
                     asyncio.create_task(on_lock(), name="lock"),
                     asyncio.create_task(on_task(sleeper), name="task"),
                     asyncio.create_task(asyncio.to_thread(gate.wait, 10), name="thread"),
                     asyncio.create_task(asyncio.sleep(0), name="yield")]
            await asyncio.sleep(UNIT / 2)
            sem.release()
            queue.put_nowait(1)
            event.set()
            lock.release()
            gate.set()
            await asyncio.gather(sleeper, *tasks)
        return tl

    tl = asyncio.run(main())
    first_wait = {name: tl[name].waits[0] for name in
                  ("sleep", "sem", "queue", "event", "lock", "task", "thread", "yield")}
    assert first_wait == {"sleep": "sleep", "sem": "sync", "queue": "queue", "event": "sync",
                          "lock": "sync", "task": "task", "thread": "other", "yield": "ready"}
    assert all(tl[name].waits[-1] == "" for name in first_wait)  # each ended in its last slice


def test_a_cancel_request_is_marked_when_it_is_made():
    async def main():
        async with Timeline() as tl:
            victim = asyncio.create_task(work(10), name="victim")
            await asyncio.sleep(UNIT)
            victim.cancel()
            time.sleep(2 * UNIT)  # the request is made at 1; the victim runs at 3
            with pytest.raises(asyncio.CancelledError):
                await victim
        return tl

    tl = asyncio.run(main())
    v = tl["victim"]
    requested = [t for t, what in v.marks if what == "cancel requested"]
    assert v.state == "cancelled" and len(requested) == 1
    # Requested after 1 unit; the victim ran only after the 2-unit block that followed.
    assert requested[0] >= UNIT and v.slices[-1][0] >= requested[0] + 2 * UNIT


def test_caller_misuse_says_what_to_do():
    with pytest.raises(TypeError, match="caller='main'"):
        Timeline(caller=3)
    with pytest.raises(TypeError, match="caller='main'"):
        Timeline(caller="")

    def from_a_callback(loop, box):
        coro = Timeline(caller="main").__aenter__()
        try:
            coro.send(None)
        except BaseException as exc:  # noqa: BLE001 - the error is the result
            box.append(exc)

    async def main():
        box = []
        asyncio.get_running_loop().call_soon(from_a_callback, asyncio.get_running_loop(), box)
        await asyncio.sleep(0)
        return box

    (error,) = asyncio.run(main())
    assert isinstance(error, RuntimeError) and "use Timeline() here" in str(error)
    assert originals() == ORIGINALS  # refused before anything was installed


def test_plot_draws_the_new_kinds_of_wait_and_shares_an_x_scale():
    async def main():
        lock = asyncio.Lock()

        async def locked(units):
            async with lock:
                await work(units)

        async with Timeline(caller="main") as tl:
            await asyncio.gather(locked(1), locked(1))
        return tl

    tl = asyncio.run(main())
    fig = tl.plot(unit=UNIT, xmax=8)
    ax = fig.axes[0]
    assert ax.get_xlim()[1] == 8 and ax.get_xlim()[0] < 0  # shared scale; room left of 0
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "waiting for a lock, event, semaphore or queue" in legend
    assert [t.get_fontstyle() for t in ax.get_yticklabels()][-1] == "italic"  # main, on top
    with pytest.raises(ValueError, match="xmax"):
        tl.plot(unit=UNIT, xmax=0)


def test_after_a_bare_yield_a_task_is_ready_at_once():
    async def yields():
        await asyncio.sleep(0)

    async def blocks():
        time.sleep(2 * UNIT)

    async def main():
        async with Timeline() as tl:
            await asyncio.gather(yields(), blocks())
        return tl

    tl = asyncio.run(main())
    y = tl["yields"]
    # Its second step was scheduled during its first: ready from the first slice's end, and it
    # waited for the loop (the blocking task), not for anything of its own.
    assert y.waits[0] == "ready" and y.ready[1] == y.slices[0][1]
    assert y.slices[1][0] >= y.ready[1] + 2 * UNIT * 0.99


def _square(x):  # module level: picklable, and shareable with another interpreter
    return x * x


def test_calls_sent_to_another_process_or_interpreter_are_recorded():
    import concurrent.futures as cf
    import multiprocessing

    # forkserver, 3.14's default, on every Python: fork (3.11-3.13's) warns that this process
    # has threads (a fork child of a threaded process may deadlock).
    forkserver = multiprocessing.get_context("forkserver")
    pools = [("process pool", cf.ProcessPoolExecutor(1, mp_context=forkserver))]
    if hasattr(cf, "InterpreterPoolExecutor"):  # 3.14+
        pools.append(("interpreter pool", cf.InterpreterPoolExecutor(1)))

    async def main(pool):
        loop = asyncio.get_running_loop()
        async with Timeline() as tl:
            assert await loop.run_in_executor(pool, _square, 7) == 49
        return tl

    for where, pool in pools:
        with pool:
            tl = asyncio.run(main(pool))
        (span,) = tl.spans
        assert (span.name, span.thread, span.state) == ("_square(7)", where, "done"), span


def test_from_spans_rebuilds_a_finished_timeline_and_refuses_bad_input():
    async def main():
        async with Timeline() as tl:
            await work(1)
        return tl

    tl = asyncio.run(main())
    copy = Timeline.from_spans(tl.spans, tl.duration)
    assert copy.text(unit=UNIT) == tl.text(unit=UNIT)
    assert tl.only(lambda s: False).spans == ()
    with pytest.raises(TypeError, match="Span objects"):
        Timeline.from_spans([("work", 0, 1)], 1.0)
    with pytest.raises(ValueError, match="seconds"):
        Timeline.from_spans(tl.spans, -1)


def test_callbacks_are_described_by_the_object_they_run_on():
    class Protocol:
        def connection_made(self, transport):
            pass

    class ResponseHandler(Protocol):
        pass

    class Transport:
        pass

    handler = ResponseHandler()
    assert _probe.describe(handler.connection_made, (Transport(),)) == \
        "ResponseHandler.connection_made(Transport)"  # not Protocol..., not "<test_...>"
    assert _probe.describe(print, ("a long text to cut",)) == "print('a long t...)"
    assert _probe.describe(functools.partial(handler.connection_made, 7), ()) == \
        "ResponseHandler.connection_made(7)"
