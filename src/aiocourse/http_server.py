"""A small web server on 127.0.0.1 for the network notebooks: slow pages and failures on demand.

    async with LocalServer(delay=0.1) as srv:          # in a notebook cell or under asyncio.run
        async with aiohttp.ClientSession() as session:
            async with session.get(srv.url + "/page/1") as resp:
                print(resp.status, await resp.text())   # 200 page 1, after 0.1 s
    print(srv.requests, srv.max_in_flight)              # what the server saw: 1 1

It runs in the event loop that enters it, on a free port, and only on 127.0.0.1: the course
never touches the internet.  ``with LocalServer() as srv:`` (no ``async``) runs it on its own
event loop in a background thread instead, for blocking clients such as ``urllib`` or a plain
script; ``python -m aiocourse.http_server`` serves until Ctrl+C.  Leaving either block stops the
server: its port is closed and requests still being served are cancelled.

Routes (``delay`` is in seconds; ``?delay=`` overrides the server's default for one request):

- ``/page/<n>``: ``page <n>`` after the delay;
- ``/status/<code>``: answers with that HTTP status (``/status/500``) after the delay;
- ``/flaky/<key>?fail=1&status=503``: the first ``fail`` requests for ``key`` answer ``status``,
  later ones ``page <key>``; with ``&slow=S`` the failing requests are slow (S seconds) instead;
- ``/``: the list of routes.

The server counts what it sees: ``requests``, ``in_flight``, ``max_in_flight`` and ``log`` (one
``Served`` record per request: path, status, start and end in seconds since the server started).
Start it before a ``Timeline`` block, not inside: its own tasks (one per connection) would be
recorded too.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import threading
from dataclasses import dataclass
from time import perf_counter

from aiohttp import web

__all__ = ["LocalServer", "Served"]

HOST = "127.0.0.1"  # loopback only: nothing outside this machine can reach the server


@dataclass(frozen=True)
class Served:
    """One request as the server saw it; ``status`` is None if the client gave up first."""

    path: str
    status: int | None
    start: float
    end: float


def _check_delay(value: object, what: str = "delay") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a finite number of seconds >= 0, not {value!r}")
    return float(value)


def _check_port(port: object) -> int:
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"port must be an int (0 picks a free port), not {type(port).__name__}")
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be between 0 and 65535 (0 picks a free one), not {port}")
    return port


class LocalServer:
    """A local aiohttp server with slow and failing routes; see the module docstring.

    Each LocalServer is used once: one ``async with`` (or ``with``) block, or one
    ``start()``/``stop()`` pair.  ``stop()`` may be called again and does nothing then.
    """

    def __init__(self, delay: float = 0.0, *, port: int = 0) -> None:
        self._delay = _check_delay(delay)
        self._port_asked = _check_port(port)
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._state = "new"  # new -> starting -> running -> stopped
        self._t0 = 0.0
        self._attempts: dict[str, int] = {}
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self.reset_stats()

    def __repr__(self) -> str:
        where = f" on {HOST}:{self._port}" if self._state == "running" else ""
        return f"<LocalServer {self._state}{where}, delay={self._delay:g} s>"

    # --- what a client needs -------------------------------------------------------------------

    @property
    def delay(self) -> float:
        """The default delay of every route, in seconds."""
        return self._delay

    @property
    def port(self) -> int:
        if self._state != "running" or self._port is None:
            raise RuntimeError(f"{self!r} is not running: use `async with LocalServer() as srv:`"
                               " and read srv.port inside the block")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        return f"http://{HOST}:{self.port}"

    def page_url(self, n: int | str, delay: float | None = None) -> str:
        """The URL of ``/page/<n>``, with ``?delay=`` when ``delay`` (seconds) is given."""
        url = f"{self.url}/page/{n}"
        return url if delay is None else f"{url}?delay={_check_delay(delay):g}"

    # --- what the server saw -------------------------------------------------------------------

    def reset_stats(self) -> None:
        """Forget the counts and the log (the flaky routes' attempt counters too)."""
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.log: list[Served] = []
        self._attempts = {}

    def attempts(self, key: str) -> int:
        """How many requests ``/flaky/<key>`` has had."""
        return self._attempts.get(key, 0)

    # --- in the running loop -------------------------------------------------------------------

    async def start(self) -> LocalServer:
        """Start serving in the running event loop; returns the server."""
        if self._state != "new":
            raise RuntimeError(f"{self!r} was already used: create a new LocalServer() for each "
                               "`async with` block")
        self._state = "starting"
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/page/{n}", self._page)
        app.router.add_get("/status/{code}", self._status)
        app.router.add_get("/flaky/{key}", self._flaky)
        # handler_cancellation: when a client gives up (a timeout), its handler is cancelled, so
        # in_flight shows what the server is really still doing.  access_log=None: no log lines
        # in notebook outputs.  A short shutdown_timeout: stop() must not wait for slow pages.
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True,
                               shutdown_timeout=0.1)
        await runner.setup()
        try:
            site = web.TCPSite(runner, HOST, self._port_asked)
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            self._state = "stopped"
            if self._port_asked:
                raise OSError(exc.errno, f"LocalServer cannot listen on {HOST}:"
                              f"{self._port_asked}: {exc.strerror or exc}. Is another server "
                              "using that port? Leave out port= to get a free one.") from exc
            raise
        except BaseException:
            await runner.cleanup()
            self._state = "stopped"
            raise
        self._runner = runner
        self._port = runner.addresses[0][1]
        self._t0 = perf_counter()
        self._state = "running"
        return self

    async def stop(self) -> None:
        """Close the port and cancel the requests still being served.  Safe to call again."""
        if self._thread is not None:
            raise RuntimeError(f"{self!r} runs in a background thread: leave its `with` block "
                               "to stop it")
        await self._stop_here()

    async def _stop_here(self) -> None:
        runner, self._runner = self._runner, None
        self._state = "stopped"
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> LocalServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- in a background thread ----------------------------------------------------------------

    def __enter__(self) -> LocalServer:
        """Serve from a new event loop in a background thread (for blocking clients)."""
        if self._state != "new":
            raise RuntimeError(f"{self!r} was already used: create a new LocalServer() for each "
                               "`with` block")
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to __enter__, which raises it
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()  # until __exit__ stops it
            loop.run_until_complete(self._stop_here())
            loop.run_until_complete(loop.shutdown_asyncgens())

        self._thread = threading.Thread(target=serve, name="LocalServer", daemon=True)
        self._thread_loop = loop
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            loop.close()
            self._thread = self._thread_loop = None
            raise failure[0]
        return self

    def __exit__(self, *exc_info: object) -> None:
        thread, loop = self._thread, self._thread_loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        self._thread = self._thread_loop = None

    # --- the routes ------------------------------------------------------------------------------

    def _now(self) -> float:
        return perf_counter() - self._t0

    def _request_delay(self, request: web.Request) -> float:
        text = request.query.get("delay")
        if text is None:
            return self._delay
        try:
            return _check_delay(float(text))
        except (TypeError, ValueError):
            raise web.HTTPBadRequest(text=f"bad delay {text!r}: seconds >= 0") from None

    async def _serve(self, request: web.Request, delay: float, status: int,
                     text: str) -> web.Response:
        # Every route goes through here, so that the counts and the log see every request.
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        start = self._now()
        served: int | None = None
        try:
            if delay:
                await asyncio.sleep(delay)
            served = status
            return web.Response(status=status, text=text)
        finally:
            self.in_flight -= 1
            self.log.append(Served(request.path_qs, served, start, self._now()))

    async def _index(self, request: web.Request) -> web.Response:
        routes = ("/page/<n>[?delay=seconds]", "/status/<code>[?delay=seconds]",
                  "/flaky/<key>?fail=1&status=503[&slow=seconds]")
        return await self._serve(request, 0.0, 200, "\n".join(routes) + "\n")

    async def _page(self, request: web.Request) -> web.Response:
        n = request.match_info["n"]
        return await self._serve(request, self._request_delay(request), 200, f"page {n}")

    async def _status(self, request: web.Request) -> web.Response:
        try:
            code = int(request.match_info["code"])
            if not 200 <= code <= 599:
                raise ValueError
        except ValueError:
            raise web.HTTPBadRequest(text="status must be a number from 200 to 599") from None
        return await self._serve(request, self._request_delay(request), code, f"status {code}")

    async def _flaky(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        try:
            fail = int(request.query.get("fail", "1"))
            status = int(request.query.get("status", "503"))
            slow = request.query.get("slow")
            slow_s = None if slow is None else _check_delay(float(slow))
            if fail < 0 or not 400 <= status <= 599:
                raise ValueError
        except (TypeError, ValueError):
            raise web.HTTPBadRequest(text="flaky takes fail=<n >= 0>, status=<400..599>, "
                                          "slow=<seconds>") from None
        attempt = self._attempts[key] = self._attempts.get(key, 0) + 1
        delay = self._request_delay(request)
        if attempt > fail:
            return await self._serve(request, delay, 200, f"page {key}")
        if slow_s is not None:
            return await self._serve(request, slow_s, 200, f"page {key} (late)")
        return await self._serve(request, delay, status, f"attempt {attempt} failed")


def main(argv: list[str] | None = None) -> None:
    """``python -m aiocourse.http_server [--port 8080] [--delay 0.05]``: serve until Ctrl+C."""
    parser = argparse.ArgumentParser(description="Serve the course's test pages on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="0 (default): a free port")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per request")
    args = parser.parse_args(argv)

    async def serve() -> None:
        async with LocalServer(args.delay, port=args.port) as srv:
            print(f"serving {srv.url}/page/1 (delay {srv.delay:g} s); Ctrl+C stops", flush=True)
            try:
                await asyncio.Event().wait()
            finally:
                print(f"stopping after {srv.requests} requests", flush=True)

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
