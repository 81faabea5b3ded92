"""The Loop X-ray: what it records of each iteration, what it leaves behind, what misuse says."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import pytest
from matplotlib.figure import Figure

from aiocourse import Timeline, _probe, xray
from aiocourse.loop_thread import LoopThread
from aiocourse.xray import XRay

UNIT = 0.02


def _lines(xr: XRay) -> list[str]:
    return xr.text(unit=UNIT).splitlines()


def test_a_blocking_task_and_a_timer_one_iteration_at_a_time():
    async def blocks():
        time.sleep(2 * UNIT)

    async def naps():  # long enough that the loop still waits for it on a busy machine
        await asyncio.sleep(5 * UNIT)

    async def main():
        async with XRay() as xr:
            await asyncio.gather(asyncio.create_task(blocks(), name="A"),
                                 asyncio.create_task(naps(), name="B"))
        return xr

    xr = asyncio.run(main())
    first = xr.iterations[0]
    assert [s.what for s in first.steps] == ["A starts", "B starts"]
    assert first.asked == 0 and [s.task for s in first.steps] == ["A", "B"]
    assert first.steps[0].end - first.steps[0].start >= 2 * UNIT
    timer = next(it for it in xr.iterations if any(s.kind == "timer" for s in it.steps))
    # The selector was asked to wait until B's timer: 5 units after B started, less the time
    # the loop took to get to the selector (how much less depends on the machine).
    assert timer.woke == "a timer" and 0 < timer.asked <= 5 * UNIT
    assert [s.what for s in timer.steps] == ["timer: sleep of B over"]
    text = _lines(xr)
    assert text[0] == " 1. did not wait: callbacks were ready"
    assert text[1] == "    ran: A starts (held the thread 2 units) · B starts"
    assert re.search(r"waited up to ([1-4]\.\d|5) units \(the next timer\); woken by a timer",
                     xr.text(unit=UNIT))
    assert "    ran: B resumes" in text
    assert _probe.users() == 0


def test_io_wakes_the_selector_and_names_the_socket():
    async def main():
        async def echo(reader, writer):
            writer.write(await reader.readline())
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with XRay() as xr:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"hi\n")
                assert await reader.readline() == b"hi\n"
                writer.close()
                await writer.wait_closed()
        finally:
            server.close()
            await server.wait_closed()
        return xr

    xr = asyncio.run(main())
    woken = [it.woke for it in xr.iterations if it.woke.startswith("I/O")]
    assert woken and all("port" not in w for w in woken)  # no port numbers: they change
    assert any("a TCP connection readable" in w for w in woken)
    assert any(it.asked is None for it in xr.iterations)  # no timer: it waited for I/O only
    assert any(s.kind == "io" for it in xr.iterations for s in it.steps)


def test_a_call_from_another_thread_wakes_an_idle_loop():
    async def main():
        loop = asyncio.get_running_loop()
        arrived = asyncio.Event()

        def hand_over():
            time.sleep(UNIT)
            loop.call_soon_threadsafe(arrived.set)

        async with XRay() as xr:
            thread = threading.Thread(target=hand_over)  # no context of ours: still shown
            thread.start()
            await arrived.wait()
            thread.join()
        return xr

    xr = asyncio.run(main())
    it = next(i for i in xr.iterations if i.woke == "a call from another thread")
    assert it.asked is None  # nothing else to do: it waited for I/O, and the call woke it
    assert [s.kind for s in it.steps] == ["threadsafe"]
    assert it.steps[0].what.startswith("from another thread: ")


def test_cancel_resumes_the_task_with_cancelled_error():
    async def main():
        async with XRay() as xr:
            victim = asyncio.create_task(asyncio.sleep(10), name="victim")
            await asyncio.sleep(0)
            victim.cancel()
            with pytest.raises(asyncio.CancelledError):
                await victim
        return xr

    xr = asyncio.run(main())
    steps = [s.what for it in xr.iterations for s in it.steps]
    assert "victim starts" in steps and "victim resumes with CancelledError" in steps


def test_a_loop_in_another_thread_and_a_timeline_at_the_same_time():
    async def job():
        await asyncio.sleep(UNIT)
        return threading.current_thread().name

    async def watched():
        async with XRay() as xr, Timeline() as tl:
            name = await asyncio.create_task(job(), name="job")
        return xr, tl, name

    with LoopThread(name="loop thread") as lt:
        xr, tl, name = lt.submit(watched()).result(timeout=5)
    assert name == "loop thread" and tl["job"].thread == "loop thread"
    assert any(s.what == "job resumes" for it in xr.iterations for s in it.steps)
    assert _probe.users() == 0 and not _probe._xrays


def test_nothing_of_the_loop_is_changed_and_memory_is_bounded():
    async def main():
        loop = asyncio.get_running_loop()
        selector = loop._selector
        before = type(selector).select, dict(vars(selector)) if hasattr(selector, "__dict__") \
            else None
        async with XRay(max_iterations=5) as xr:
            for _ in range(50):
                await asyncio.sleep(0)
        assert "select" not in vars(selector) and type(selector).select is before[0]
        return xr

    xr = asyncio.run(main())
    assert len(xr.all_iterations) == 5 and xr._count >= 50

    async def wide():
        async with XRay() as xr:
            await asyncio.gather(*[asyncio.sleep(0) for _ in range(500)])
        return xr

    first = asyncio.run(wide()).iterations[0]
    assert len(first.steps) == 100 and first.more == 400 and len(first.queue) == 12
    assert "of 5 iterations" in xr.text(unit=UNIT, first=10)
    assert "more not shown" in xr.text(unit=UNIT, first=2)


def test_misuse_gives_clear_errors():
    xr = XRay()
    with pytest.raises(TypeError, match="async with XRay"):
        with xr:
            pass
    with pytest.raises(RuntimeError, match="has not recorded"):
        xr.text()
    with pytest.raises(ValueError, match="max_iterations"):
        XRay(max_iterations=0)

    async def main():
        async with XRay() as outer:
            with pytest.raises(RuntimeError, match="still recording"):
                _ = outer.iterations
            with pytest.raises(RuntimeError, match="already recording this loop"):
                async with XRay():
                    pass
        with pytest.raises(RuntimeError, match="already used"):
            async with outer:
                pass
        with pytest.raises(ValueError, match="unit"):
            outer.text(unit=0)

    asyncio.run(main())
    assert _probe.users() == 0 and not _probe._xrays


def test_uvloop_is_refused_with_a_reason():
    uvloop = pytest.importorskip("uvloop")

    async def main():
        async with XRay():
            pass

    with pytest.raises(TypeError, match="uvloop"):
        uvloop.run(main())


def test_views_draw_and_explore():
    async def main():
        async with XRay() as xr:
            await asyncio.gather(asyncio.sleep(UNIT), asyncio.sleep(2 * UNIT))
        return xr

    xr = asyncio.run(main())
    assert isinstance(xr.plot(unit=UNIT, title="t"), Figure)
    view = xr.explore(unit=UNIT)
    assert repr(view) == f"<X-ray explorer: {len(xr.iterations)} iterations>"
    back, forward, slider, play = view.children[0].children
    page = view.children[1]
    first = page.value
    assert back.disabled and not forward.disabled and "Iteration 1 of" in first
    forward.click()
    assert slider.value == 2 and page.value != first and "Iteration 2 of" in page.value
    assert "The selector" in page.value and "What it ran" in page.value
    assert " 1 callbacks" not in page.value
    back.click()
    assert slider.value == 1 and page.value == first and back.disabled
    slider.value = slider.max
    assert forward.disabled and not back.disabled
    forward.click()  # at the end: stays there
    assert slider.value == slider.max
    with pytest.raises(ValueError, match="unit must be a positive number"):
        xr.explore(unit=0)


def test_the_caller_gets_its_name_and_an_overdue_timer_is_told_apart():
    async def main():
        async with XRay(caller="main") as xr:
            nap = asyncio.create_task(asyncio.sleep(UNIT), name="nap")
            await asyncio.sleep(0)
            time.sleep(2 * UNIT)  # nap's timer falls due while the loop is blocked
            await nap
        return xr

    xr = asyncio.run(main())
    text = xr.text(unit=UNIT)
    assert "main resumes" in text and "run_cell" not in text
    assert "did not wait: a timer was already due" in text
    with pytest.raises(TypeError, match="caller='main'"):
        XRay(caller="")


def test_what_woke_the_loop_counts_repeats():
    # Four connections that became writable together read as one entry, not four.
    assert xray._counted(("a TCP connection writable",) * 4 + ("a listening socket readable",)) \
        == "a TCP connection writable ×4, a listening socket readable"
    assert xray._counted(("a", "b", "a")) == "a ×2, b"
    assert xray._counted(()) == ""
