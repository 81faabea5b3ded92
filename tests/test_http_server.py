"""LocalServer: its routes and counts, bad input, single use, and that nothing outlives it."""

from __future__ import annotations

import asyncio
import math
import re
import socket
import threading
import time
import urllib.error
import urllib.request

import aiohttp
import pytest

from aiocourse.http_server import LocalServer, Served
from aiocourse.scripts import run_script


def run(coro):
    """asyncio.run, and check that nothing the test started is still running afterwards."""

    async def main():
        result = await coro
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not left, left
        return result

    result = asyncio.run(main())
    assert not [t for t in threading.enumerate() if t.name == "LocalServer"]
    return result


def port_is_closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


async def get(session, url, **kwargs):
    async with session.get(url, **kwargs) as resp:
        return resp.status, await resp.text()


# --- routes and counts -------------------------------------------------------------------------


def test_pages_come_after_the_delay_and_are_counted():
    async def main():
        async with LocalServer(delay=0.1) as srv:
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+", srv.url)
            async with aiohttp.ClientSession() as session:
                t = time.perf_counter()
                pages = await asyncio.gather(*(get(session, srv.page_url(i)) for i in range(5)))
                took = time.perf_counter() - t
        return srv, pages, took

    srv, pages, took = run(main())
    assert pages == [(200, f"page {i}") for i in range(5)]
    assert 0.1 <= took < 0.4  # concurrently: about one delay, not five
    assert srv.requests == 5 and srv.in_flight == 0 and srv.max_in_flight == 5
    assert sorted(s.path for s in srv.log) == [f"/page/{i}" for i in range(5)]
    assert all(isinstance(s, Served) and s.status == 200 and s.end - s.start >= 0.1
               for s in srv.log)


def test_delay_per_request_and_the_index():
    async def main():
        async with LocalServer(delay=5) as srv, aiohttp.ClientSession() as session:
            t = time.perf_counter()
            page = await get(session, srv.page_url(7, delay=0))
            fast = time.perf_counter() - t
            index = await get(session, srv.url + "/")
            bad = await get(session, srv.url + "/page/1?delay=soon")
            negative = await get(session, srv.url + "/page/1?delay=-1")
            missing = await get(session, srv.url + "/nothing")
        return page, fast, index, bad, negative, missing

    page, fast, index, bad, negative, missing = run(main())
    assert page == (200, "page 7") and fast < 1
    assert index[0] == 200 and "/page/<n>" in index[1] and "/flaky/<key>" in index[1]
    assert bad[0] == 400 and "bad delay 'soon'" in bad[1]
    assert negative[0] == 400
    assert missing[0] == 404


def test_status_route():
    async def main():
        async with LocalServer() as srv, aiohttp.ClientSession() as session:
            results = [await get(session, f"{srv.url}/status/{code}")
                       for code in ("500", "404", "204", "abc", "700")]
            with pytest.raises(aiohttp.ClientResponseError) as info:
                async with session.get(srv.url + "/status/503") as resp:
                    resp.raise_for_status()
        return results, info.value.status, srv

    results, raised, srv = run(main())
    assert results[:3] == [(500, "status 500"), (404, "status 404"), (204, "")]
    assert results[3][0] == results[4][0] == 400
    assert raised == 503
    assert [s.status for s in srv.log] == [500, 404, 204, 503]  # bad requests are not served


def test_flaky_fails_first_then_answers():
    async def main():
        async with LocalServer() as srv, aiohttp.ClientSession() as session:
            twice = [await get(session, srv.url + "/flaky/a?fail=2") for _ in range(3)]
            other = await get(session, srv.url + "/flaky/b?status=500")
            t = time.perf_counter()
            with pytest.raises(TimeoutError):
                await get(session, srv.url + "/flaky/c?slow=5",
                          timeout=aiohttp.ClientTimeout(total=0.1))
            gave_up = time.perf_counter() - t
            then = await get(session, srv.url + "/flaky/c?slow=5")
            bad = await get(session, srv.url + "/flaky/d?fail=-1")
            counts = srv.attempts("a"), srv.attempts("c"), srv.attempts("nobody")
        return twice, other, gave_up, then, bad, counts

    twice, other, gave_up, then, bad, counts = run(main())
    assert twice == [(503, "attempt 1 failed"), (503, "attempt 2 failed"), (200, "page a")]
    assert other == (500, "attempt 1 failed")
    assert gave_up < 1 and then == (200, "page c")
    assert bad[0] == 400
    assert counts == (3, 2, 0)


def test_reset_stats():
    async def main():
        async with LocalServer() as srv, aiohttp.ClientSession() as session:
            await get(session, srv.url + "/flaky/k")
            srv.reset_stats()
            assert (srv.requests, srv.max_in_flight, srv.log, srv.attempts("k")) == (0, 0, [], 0)
            return await get(session, srv.url + "/flaky/k")  # fails again: counter was reset

    assert run(main()) == (503, "attempt 1 failed")


def test_a_client_timeout_cancels_the_request_on_the_server():
    async def main():
        async with LocalServer(delay=5) as srv, aiohttp.ClientSession() as session:
            with pytest.raises(TimeoutError):
                await get(session, srv.page_url(1), timeout=aiohttp.ClientTimeout(total=0.1))
            for _ in range(50):  # the server notices the closed connection a moment later
                if srv.in_flight == 0:
                    break
                await asyncio.sleep(0.01)
        return srv

    srv = run(main())
    assert srv.in_flight == 0 and srv.max_in_flight == 1
    assert srv.log[0].status is None and srv.log[0].end < 1


# --- bad input, single use, stopping ------------------------------------------------------------


@pytest.mark.parametrize("delay, error", [(-1, ValueError), (math.nan, ValueError),
                                          (math.inf, ValueError), ("1", TypeError),
                                          (True, TypeError), (None, TypeError)])
def test_bad_delay(delay, error):
    with pytest.raises(error, match="delay must be"):
        LocalServer(delay=delay)


@pytest.mark.parametrize("port, error", [(-1, ValueError), (70000, ValueError),
                                         ("8080", TypeError), (8080.0, TypeError)])
def test_bad_port(port, error):
    with pytest.raises(error, match="port must be"):
        LocalServer(port=port)


def test_bad_page_url_delay():
    async def main():
        async with LocalServer() as srv:
            with pytest.raises(ValueError, match="delay must be"):
                srv.page_url(1, delay=-0.5)
            return srv.page_url(3, delay=0.25)

    assert run(main()).endswith("/page/3?delay=0.25")


def test_url_needs_a_running_server():
    srv = LocalServer()
    with pytest.raises(RuntimeError, match="is not running"):
        _ = srv.url
    assert repr(srv) == "<LocalServer new, delay=0 s>"


def test_used_twice():
    async def main():
        srv = LocalServer()
        async with srv:
            with pytest.raises(RuntimeError, match="already used"):
                await srv.start()
        with pytest.raises(RuntimeError, match="already used"):
            async with srv:
                pass
        with pytest.raises(RuntimeError, match="already used"):
            with srv:
                pass
        return srv

    srv = run(main())
    with pytest.raises(RuntimeError, match="is not running"):
        _ = srv.url


def test_stopping_twice_is_harmless_and_closes_the_port():
    async def main():
        srv = await LocalServer().start()
        await srv.stop()
        await srv.stop()
        async with srv:  # refuses to start again, and leaving the block stops nothing twice
            pass

    with pytest.raises(RuntimeError, match="already used"):
        run(main())

    async def closed():
        srv = await LocalServer().start()
        port = srv.port
        await srv.stop()
        await srv.stop()
        return port, repr(srv)

    port, text = run(closed())
    assert port_is_closed(port)
    assert text == "<LocalServer stopped, delay=0 s>"


def test_stop_never_started_does_nothing():
    run(LocalServer().stop())


def test_stop_cancels_slow_requests_quickly():
    async def main():
        srv = await LocalServer(delay=10).start()
        async with aiohttp.ClientSession() as session:
            request = asyncio.create_task(get(session, srv.page_url(1)))
            while srv.in_flight == 0:
                await asyncio.sleep(0.01)
            t = time.perf_counter()
            await srv.stop()
            took = time.perf_counter() - t
            with pytest.raises(aiohttp.ClientError):
                await request
        return took, srv

    took, srv = run(main())
    assert took < 1
    assert srv.in_flight == 0 and srv.log[0].status is None


def test_port_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        async def main():
            srv = LocalServer(port=port)
            with pytest.raises(OSError, match=f"listen on 127.0.0.1:{port}.*Leave out port="):
                await srv.start()
            with pytest.raises(RuntimeError, match="already used"):
                await srv.start()
            return srv

        srv = run(main())
        assert repr(srv) == "<LocalServer stopped, delay=0 s>"

        with pytest.raises(OSError, match="Leave out port="):
            with LocalServer(port=port):
                pass
        assert not [t for t in threading.enumerate() if t.name == "LocalServer"]


def test_a_fixed_free_port_works():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main():
        async with LocalServer(port=port) as srv:
            return srv.port

    assert run(main()) == port


# --- in a background thread, and as a script ------------------------------------------------


def test_in_a_thread_for_blocking_clients():
    with LocalServer(delay=0.05) as srv:
        url = srv.url
        assert [t.name for t in threading.enumerate()].count("LocalServer") == 1
        with urllib.request.urlopen(srv.page_url(2), timeout=5) as resp:
            assert resp.read() == b"page 2"
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(url + "/status/500", timeout=5)
        info.value.close()
        with pytest.raises(RuntimeError, match="background thread"):
            asyncio.run(srv.stop())
    assert srv.requests == 2
    assert not [t for t in threading.enumerate() if t.name == "LocalServer"]
    assert port_is_closed(int(url.rsplit(":", 1)[1]))
    srv.__exit__(None, None, None)  # leaving twice does nothing


def test_in_a_thread_while_a_loop_runs_here():
    """In a notebook the kernel's loop runs in the main thread: the thread server still works."""

    async def main():
        with LocalServer() as srv:
            async with aiohttp.ClientSession() as session:
                return await get(session, srv.page_url(1))

    assert run(main()) == (200, "page 1")


def test_command_line_serves_until_ctrl_c():
    result = run_script("""
        from aiocourse.http_server import main
        main(["--delay", "0.05"])
    """, interrupt_on="Ctrl+C stops", interrupt_after=0.1, timeout=20)
    assert result.returncode == 0, result
    assert re.search(r"serving http://127\.0\.0\.1:\d+/page/1 \(delay 0\.05 s\)", result.output)
    assert "stopping after 0 requests" in result.output
