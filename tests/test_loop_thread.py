"""Unit tests for aiocourse.loop_thread.LoopThread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import sys
import threading
import time
import warnings

import pytest

from aiocourse import Timeline
from aiocourse.loop_thread import LoopThread

UNIT = 0.05


async def echo(value, delay=0.0):
    await asyncio.sleep(delay)
    return value


async def fail(message):
    await asyncio.sleep(0)
    raise ValueError(message)


def threads_named(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


@pytest.fixture
def no_warnings():
    """Fail the test if it leaves a warning behind (e.g. 'coroutine ... was never awaited')."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        gc.collect()
    assert [str(w.message) for w in caught] == []


# --- normal use -------------------------------------------------------------------------------

def test_submit_and_call_soon_run_in_the_loop_thread(no_warnings):
    seen = []
    with LoopThread(name="worker-loop") as lt:
        assert repr(lt) == "<LoopThread 'worker-loop' running>"
        assert lt.thread.name == "worker-loop" and lt.thread.is_alive()
        assert lt.loop.is_running()
        future = lt.submit(echo("done", UNIT))
        assert isinstance(future, concurrent.futures.Future)
        assert future.result(timeout=2) == "done"
        handle = lt.call_soon(lambda x: seen.append((x, threading.current_thread().name)), 1)
        assert isinstance(handle, asyncio.Handle)
        assert lt.submit(echo("after")).result(timeout=2) == "after"  # the callback ran first
    assert seen == [(1, "worker-loop")]
    assert repr(lt) == "<LoopThread 'worker-loop' closed>"
    assert lt.loop.is_closed() and not lt.thread.is_alive()
    assert lt.cancelled_on_exit == ()


def test_coroutines_overlap_but_blocking_callbacks_queue_up():
    with LoopThread() as lt:
        t0 = time.perf_counter()
        futures = [lt.submit(echo(n, 4 * UNIT)) for n in range(3)]
        assert [f.result(timeout=2) for f in futures] == [0, 1, 2]
        together = time.perf_counter() - t0

        t0 = time.perf_counter()
        lt.call_soon(time.sleep, 2 * UNIT)
        lt.call_soon(time.sleep, 2 * UNIT)
        lt.submit(echo(None)).result(timeout=2)
        serial = time.perf_counter() - t0
    assert 4 * UNIT <= together < 7 * UNIT
    assert serial >= 4 * UNIT


def test_the_callbacks_handed_over_before_exit_still_run():
    ran = []
    with LoopThread() as lt:
        lt.call_soon(time.sleep, UNIT)
        lt.call_soon(ran.append, "second")
    assert ran == ["second"]


def test_submit_names_the_task():
    async def my_name():
        return asyncio.current_task().get_name()

    with LoopThread() as lt:
        assert lt.submit(my_name(), name="job 1").result(timeout=2) == "job 1"
        assert lt.submit(echo(5), name="job 2").result(timeout=2) == 5


def test_a_named_task_still_shows_its_coroutine():
    async def my_repr():
        return repr(asyncio.current_task())

    with LoopThread() as lt:
        text = lt.submit(my_repr(), name="job 1").result(timeout=2)
    assert "name='job 1'" in text and "coro=<test_a_named_task_still_shows_its_coroutine" in text


def test_debug_mode_is_passed_to_the_loop():
    with LoopThread(debug=True) as lt:
        assert lt.loop.get_debug() is True
    with LoopThread(debug=False) as lt:
        assert lt.loop.get_debug() is False


# --- across threads: exceptions, timeouts, cancellation ---------------------------------------

def test_an_exception_crosses_to_the_caller():
    with LoopThread() as lt:
        future = lt.submit(fail("bad input 7"))
        with pytest.raises(ValueError, match="bad input 7"):
            future.result(timeout=2)
        assert isinstance(future.exception(), ValueError)


def test_result_timeout_does_not_cancel_the_task():
    with LoopThread() as lt:
        future = lt.submit(echo("late", 3 * UNIT))
        with pytest.raises(TimeoutError):  # concurrent.futures.TimeoutError is TimeoutError
            future.result(timeout=UNIT)
        assert not future.done()
        assert future.result(timeout=2) == "late"


def test_future_cancel_cancels_the_task(no_warnings):
    started, cancelled = threading.Event(), threading.Event()

    async def waits():
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with LoopThread() as lt:
        future = lt.submit(waits(), name="waits")
        assert started.wait(2)
        assert future.cancel() is True
        assert cancelled.wait(2), "the task on the loop was not cancelled"
        # The task is gone from the loop, not just the future from the caller's view.
        assert lt.submit(_other_tasks()).result(timeout=2) == []
        assert future.cancelled()
    assert lt.cancelled_on_exit == ()


async def _other_tasks():
    await asyncio.sleep(0)
    return sorted(t.get_name() for t in asyncio.all_tasks() if t is not asyncio.current_task())


def test_cancel_before_the_task_starts_leaves_no_warning(no_warnings):
    with LoopThread() as lt:
        lt.call_soon(time.sleep, UNIT)  # keep the loop busy: the task cannot start yet
        futures = [lt.submit(echo(1), name="early"), lt.submit(echo(2))]
        assert all(f.cancel() for f in futures)


# --- shutdown ---------------------------------------------------------------------------------

def test_exit_cancels_what_is_left_and_runs_its_cleanup(no_warnings):
    cleaned = []

    async def forever(name):
        try:
            await asyncio.sleep(10)
        finally:
            cleaned.append((name, threading.current_thread().name))

    with LoopThread(name="loop") as lt:
        futures = [lt.submit(forever("b"), name="b"), lt.submit(forever("a"), name="a")]
        lt.submit(echo(None)).result(timeout=2)  # both have started
    assert sorted(cleaned) == [("a", "loop"), ("b", "loop")]
    assert lt.cancelled_on_exit == ("a", "b")
    assert all(f.cancelled() for f in futures)


def test_nothing_is_left_running_after_an_exception_in_the_block(no_warnings):
    before = threading.active_count()
    with pytest.raises(KeyError):
        with LoopThread(name="crash-loop") as lt:
            future = lt.submit(echo("never", 10))
            lt.call_soon(time.sleep, 0)
            raise KeyError("boom")
    assert not lt.thread.is_alive() and lt.loop.is_closed()
    assert future.cancelled()
    assert threads_named("crash-loop") == []
    assert threading.active_count() == before


def test_start_and_stop_twenty_times_leaves_no_thread():
    before = threading.active_count()
    for i in range(20):
        with LoopThread(name="repeat") as lt:
            assert lt.submit(echo(i)).result(timeout=2) == i
            lt.loop.run_in_executor(None, time.sleep, 0)  # a default executor to shut down
        assert lt.loop.is_closed()
    assert threads_named("repeat") == []
    assert threading.active_count() == before


def test_async_generators_are_finalized():
    closed = threading.Event()

    async def numbers():
        try:
            for i in range(10):
                yield i
        finally:
            closed.set()

    async def take_one():
        gen = numbers()
        return await gen.__anext__()  # leaves the generator suspended

    with LoopThread() as lt:
        assert lt.submit(take_one()).result(timeout=2) == 0
    assert closed.is_set()


def test_an_error_raised_while_cancelling_is_reported():
    reported = []

    async def refuses():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None

    with LoopThread() as lt:
        lt.loop.set_exception_handler(lambda loop, ctx: reported.append(ctx["message"]))
        lt.submit(refuses())
        lt.submit(echo(None)).result(timeout=2)
    assert reported == ["unhandled exception during LoopThread shutdown"]


def test_a_task_that_never_wakes_up_does_not_hang_the_exit(monkeypatch):
    # A future completed from the wrong thread in debug mode is marked done, but the call that
    # would wake its waiter raised: the waiting task can never finish, even when cancelled.
    monkeypatch.setattr("aiocourse.loop_thread.CANCEL_TIMEOUT", 2 * UNIT)
    reported = []

    async def new_future():
        return asyncio.get_running_loop().create_future()

    async def waits(fut):
        return await fut

    t0 = time.perf_counter()
    with LoopThread(debug=True) as lt:
        lt.loop.set_exception_handler(lambda loop, ctx: reported.append(ctx["message"]))
        fut = lt.submit(new_future()).result(timeout=2)
        lt.submit(waits(fut), name="stuck")
        time.sleep(UNIT)
        with pytest.raises(RuntimeError, match="Non-thread-safe operation"):
            fut.set_result(1)  # the wrong thread
    assert time.perf_counter() - t0 < 2
    assert reported[0].startswith("task did not finish within 0.1 s of being cancelled")
    assert lt.cancelled_on_exit == ("stuck",)


def test_close_twice_and_close_unstarted_do_nothing():
    lt = LoopThread()
    lt.close()
    assert repr(lt) == "<LoopThread 'loop' closed>"
    with LoopThread() as lt:
        pass
    lt.close()


def test_a_loop_stopped_from_inside_refuses_new_work(no_warnings):
    with LoopThread() as lt:
        lt.call_soon(lt.loop.stop)
        lt.thread.join(2)
        with pytest.raises(RuntimeError, match="has stopped"):
            lt.submit(echo(1))
    assert lt.loop.is_closed()


# --- misuse: errors that name the fix ---------------------------------------------------------

@pytest.mark.parametrize("bad, hint", [
    (42, "not int 42"),
    (echo, r"call it, lt\.submit\(echo\(\.\.\.\)\)"),
    (print, r"lt\.call_soon\(fn, \*args\)"),
])
def test_submit_rejects_what_is_not_a_coroutine(bad, hint):
    with LoopThread() as lt:
        with pytest.raises(TypeError, match=hint):
            lt.submit(bad)


def test_submit_rejects_a_future():
    with LoopThread() as lt:
        future = lt.submit(echo(1))
        with pytest.raises(TypeError, match="already belongs to a loop"):
            lt.submit(asyncio.wrap_future(future, loop=lt.loop))
        future.result(timeout=2)


def test_submit_with_a_bad_name_closes_the_coroutine(no_warnings):
    with LoopThread() as lt:
        with pytest.raises(TypeError, match="name must be a str"):
            lt.submit(echo(1), name=7)


def test_call_soon_rejects_coroutines_and_non_callables(no_warnings):
    with LoopThread() as lt:
        with pytest.raises(TypeError, match=r"a coroutine goes to lt\.submit"):
            lt.call_soon(echo(1))
        with pytest.raises(TypeError, match=r"use lt\.submit\(echo\(\.\.\.\)\)"):
            lt.call_soon(echo, 1)
        with pytest.raises(TypeError, match="takes a function, not int"):
            lt.call_soon(42)


def test_using_it_before_start_or_after_exit_closes_the_coroutine(no_warnings):
    lt = LoopThread(name="idle")
    with pytest.raises(RuntimeError, match="was not started"):
        lt.submit(echo(1))
    with pytest.raises(RuntimeError, match="has no loop yet"):
        _ = lt.loop
    with pytest.raises(RuntimeError, match="has no thread yet"):
        _ = lt.thread
    with lt:
        pass
    with pytest.raises(RuntimeError, match="is closed: call lt.submit"):
        lt.submit(echo(1))
    with pytest.raises(RuntimeError, match="is closed: call lt.call_soon"):
        lt.call_soon(print)


def test_entering_twice_or_again_after_exit_fails():
    lt = LoopThread()
    with lt:
        with pytest.raises(RuntimeError, match="already entered"):
            with lt:
                pass
        assert lt.submit(echo(1)).result(timeout=2) == 1  # still usable
    with pytest.raises(RuntimeError, match="create a new LoopThread"):
        with lt:
            pass


def test_closing_from_its_own_thread_fails():
    async def close_me(lt):
        try:
            lt.close()
        except RuntimeError as exc:
            return str(exc)

    with LoopThread(name="self") as lt:
        message = lt.submit(close_me(lt)).result(timeout=2)
        assert lt.submit(echo("still running")).result(timeout=2) == "still running"
    assert "cannot be closed from its own loop thread" in message


def test_a_bad_name_fails_early():
    with pytest.raises(TypeError, match="non-empty str"):
        LoopThread(name="")


# --- with the Timeline: thread lanes ----------------------------------------------------------

def test_timeline_records_callbacks_and_tasks_on_the_loop_thread():
    def more_work(x):
        time.sleep(x * UNIT)

    async def main():
        async with Timeline() as tl:
            with LoopThread(name="loop") as lt:
                time.sleep(UNIT)  # the loop is idle, waiting in select()
                lt.call_soon(more_work, 2)
                lt.call_soon(more_work, 1)
                lt.submit(echo(None, 2 * UNIT), name="job").result(timeout=2)
        return tl

    for _ in range(5):
        tl = asyncio.run(main())
        first, second, job = tl["more_work(2)"], tl["more_work(1)"], tl["job"]
        assert (first.kind, first.thread, first.state) == ("callback", "loop", "done")
        assert (second.thread, second.state) == ("loop", "done")
        assert second.start >= first.end - 1e-3  # one after the other
        assert (job.kind, job.thread, job.state) == ("task", "loop", "done")
        assert "thread" not in tl.text(UNIT, 0).splitlines()[0]  # all on one thread


def test_entering_inside_a_running_loop_works():
    async def main():
        with LoopThread() as lt:
            other = lt.submit(_running_loop_id()).result(timeout=2)
        return other != id(asyncio.get_running_loop())

    async def _running_loop_id():
        return id(asyncio.get_running_loop())

    assert asyncio.run(main())


def test_timeline_sees_the_first_callback_to_an_idle_loop():
    # The Timeline used to register a thread-safe callback after the call had woken the loop, so
    # the loop thread could run it first, unrecorded: the span stayed "pending" on thread "?".
    async def main():
        async with Timeline() as tl:
            with LoopThread(name="idle-loop") as lt:
                time.sleep(0.005)  # the loop is waiting in select()
                lt.call_soon(len, ())
        return tl.spans

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: the race shows up within a few runs
    try:
        states = [[(s.state, s.thread) for s in asyncio.run(main())] for _ in range(40)]
    finally:
        sys.setswitchinterval(interval)
    assert states == [[("done", "idle-loop")]] * 40
