"""Checks for notebook 12 (streams and subprocesses: real sockets and real processes).

    from aiocourse.checks.streams_and_subprocesses import check_send_all, check_lines_until
    await check_send_all(send_all)   # prints feedback, returns True or False

Check 12.1 serves real TCP clients on 127.0.0.1 and hands the answer the server's end of each
connection: a client that reads at once, one that reads slowly but steadily, and one that never
reads.  It watches what the answer leaves in asyncio's write buffer, what each client receives,
and whether the connection ends.  Check 12.2 hands the answer ``spawn``, which is
``asyncio.create_subprocess_exec`` with the check keeping every child it starts, so it can see
each child's exit and make sure none is left running.  Both judge order and outcomes; "on time"
is asked of the referee's beat (``referee.Referee``), never of a duration compared with a
constant.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Callable
from typing import Any

from ..exercises import Exercise
from . import UNIT
from .referee import Referee

__all__ = ["UNIT", "check_send_all", "check_lines_until", "child_argv"]

HOST = "127.0.0.1"
CHUNK = 64 * 1024
# Kernel buffers of one connection, each side.  On loopback they grow to several MiB by
# themselves, which a client that never reads would swallow before drain() ever waits.
KERNEL_BUFFER = 64 * 1024
# The most asyncio's buffer may hold right after a write of an answer that waits for drain():
# the high-water mark (64 KiB) plus the chunk just written, with room to spare.
BUFFER_ALLOWED = 4 * CHUNK


# --- Exercise 12.1 ----------------------------------------------------------------------------


class _Watched:
    """The server's StreamWriter, with a note of asyncio's buffer after each write.

    Everything else (drain, close, wait_closed, transport, ...) is the real writer's."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.most_buffered = 0
        self.written = 0

    def write(self, data: bytes) -> None:
        self._writer.write(data)
        self.written += len(data)
        self.most_buffered = max(self.most_buffered,
                                 self._writer.transport.get_write_buffer_size())

    def writelines(self, data) -> None:
        for item in data:
            self.write(item)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)

    def __repr__(self) -> str:
        return repr(self._writer)


def _chunks(n: int) -> list[bytes]:
    # Chunk i is filled with the byte i % 251, so that the client can tell order and loss.
    return [bytes([i % 251]) * CHUNK for i in range(n)]


class _Client:
    """A client of the check's server: ``pace`` None reads as fast as it can, a number reads one
    chunk every ``pace`` units, and ``"never"`` does not read until told to (``drain()``)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 pace: float | str | None) -> None:
        self.reader, self.writer, self.pace = reader, writer, pace
        self.received = bytearray()
        self.eof = False
        self.reset = False
        self.task: asyncio.Task | None = None
        if pace != "never":
            self.task = asyncio.create_task(self._read(), name="check's client")

    async def _read(self) -> None:
        try:
            while True:
                if isinstance(self.pace, int | float):
                    await asyncio.sleep(self.pace * UNIT)
                data = await self.reader.read(CHUNK)
                if not data:
                    self.eof = True
                    return
                self.received += data
        except (ConnectionError, OSError):
            self.reset = True

    def drain(self) -> None:
        """Start reading (fast) now."""
        self.pace = None
        if self.task is None:
            self.task = asyncio.create_task(self._read(), name="check's client")

    async def ended(self, timeout_units: float) -> bool:
        """Whether the client saw the end of the connection (EOF or a reset) in time."""
        if self.task is None:
            return False
        await asyncio.wait([self.task], timeout=timeout_units * UNIT)
        return self.task.done()

    def in_order(self, chunks: list[bytes]) -> bool:
        """Whether what arrived is the start of the chunks, in order."""
        whole = b"".join(chunks)
        return bytes(self.received) == whole[:len(self.received)]

    async def close(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            await asyncio.wait([self.task])
        _abort(self.writer.transport)


def _abort(transport: asyncio.BaseTransport) -> None:
    # Python 3.11's abort() of a transport that has already closed fails (its loop is gone).
    if not transport.is_closing():
        transport.abort()


class _Server:
    """A TCP server on 127.0.0.1 whose connections the check takes one at a time:
    ``client, server_writer = await srv.connect(pace)``.  Leaving it aborts every connection
    that is still open and closes the listening socket."""

    def __init__(self) -> None:
        self._accepted: asyncio.Queue = asyncio.Queue()
        self._server: asyncio.Server | None = None
        self._transports: list[asyncio.BaseTransport] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._clients: list[_Client] = []

    async def __aenter__(self) -> _Server:
        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            # The writer is kept until its transport is aborted: a StreamWriter collected while
            # its transport is open warns "unclosed" (3.13+), for an answer that never closed it.
            self._writers.append(writer)
            self._transports.append(writer.transport)
            self._accepted.put_nowait(writer)

        self._server = await asyncio.start_server(connected, HOST, 0)
        return self

    async def connect(self, pace: float | str | None) -> tuple[_Client, asyncio.StreamWriter]:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        # limit: the client's StreamReader stops taking from the socket at 2 chunks.
        reader, writer = await asyncio.open_connection(host, port, limit=CHUNK)
        self._transports.append(writer.transport)
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                                   KERNEL_BUFFER)
        server_writer = await asyncio.wait_for(self._accepted.get(), timeout=2)
        server_writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF,
                                                          KERNEL_BUFFER)
        client = _Client(reader, writer, pace)
        self._clients.append(client)
        return client, server_writer

    async def __aexit__(self, *exc_info) -> None:
        for client in self._clients:
            await client.close()
        for transport in self._transports:
            _abort(transport)
        if self._server is not None:
            self._server.close()
            await asyncio.sleep(0)  # the aborted transports say connection_lost


def _units_after(ref: Referee, since: float, units: float) -> float:
    """The moment ``units`` after ``since`` (seconds from the referee's start), in units, as
    ``Referee.late`` and ``Referee.early`` take it."""
    return since / ref.unit + units


async def check_send_all(answer: Callable[..., Any]) -> bool:
    """Exercise 12.1: ``await answer(writer, chunks, limit)`` writes the chunks in order, waits
    for ``drain()`` after each, closes the writer after the last and returns True; if a drain()
    takes longer than ``limit`` seconds it drops the connection (``writer.transport.abort()``)
    and returns False."""
    ex = Exercise("12.1", "send everything, or give up on a client that stops reading")
    limit_units = 3
    limit = limit_units * UNIT
    ref = Referee()
    async with _Server() as srv, ex.attempt(), ref.beating():
        # A client that reads as fast as it can: 2 MiB arrive, then the end of the connection.
        chunks = _chunks(32)
        total = len(chunks) * CHUNK
        client, writer = await srv.connect(pace=None)
        watched = _Watched(writer)
        result, _ = await ref.run(ex, answer(watched, chunks, limit), timeout=3)
        ex.expect(result is True, "returns True when the client has taken every chunk",
                  got=result)
        ended = await client.ended(20)
        ex.expect(len(client.received) == total and client.in_order(chunks),
                  "the client receives every chunk, in order",
                  got=f"{len(client.received) // 1024} KiB of {total // 1024}"
                      + ("" if client.in_order(chunks) else ", not in order"))
        ex.expect(ended and client.eof, "closes the connection after the last chunk (the client "
                  "sees the end)", got="the client is still waiting for more",
                  hint="writer.close(), then await writer.wait_closed()")
        ex.expect(watched.most_buffered <= BUFFER_ALLOWED,
                  "waits for drain() after each write: asyncio's buffer never grows past "
                  f"{BUFFER_ALLOWED // 1024} KiB",
                  got=f"{watched.most_buffered // 1024} KiB waiting in the buffer at once",
                  hint="write() only queues the bytes: `await writer.drain()` after each "
                       "write waits until the buffer is low again")

        # A client that takes one chunk every half unit: each drain() waits about that long,
        # and the whole send takes about three times `limit`.
        chunks = _chunks(24)
        total = len(chunks) * CHUNK
        client, writer = await srv.connect(pace=0.5)
        result, _ = await ref.run(ex, answer(writer, chunks, limit), timeout=3)
        await client.ended(20)
        ex.expect(result is True and len(client.received) == total,
                  f"a slow client that keeps reading gets everything, though the whole send "
                  f"takes longer than the limit ({limit_units} units)",
                  got=f"returned {result!r}; the client got {len(client.received) // 1024} KiB "
                      f"of {total // 1024}",
                  hint="the limit is for each drain(), not for the whole send: "
                       "`async with asyncio.timeout(limit): await writer.drain()`")

        # A client that never reads: the buffers fill, drain() waits, the answer gives up.
        chunks = _chunks(32)
        total = len(chunks) * CHUNK
        client, writer = await srv.connect(pace="never")
        watched = _Watched(writer)
        started = ref.now()
        result, _ = await ref.run(ex, answer(watched, chunks, limit), timeout=3)
        at = ref.log.last("answer returned")
        ex.expect(result is False, "returns False for a client that never reads", got=result,
                  hint="a drain() that has not ended after `limit` seconds raises TimeoutError "
                       "inside `async with asyncio.timeout(limit):`; catch it")
        if result is False:
            # Its buffers are full a moment after the first writes: the drain() that waits
            # begins at the start, within the allowance.
            deadline = _units_after(ref, started, limit_units)
            ex.expect(not ref.late(at, deadline, allowance=2),
                      f"gives up about `limit` ({limit_units} units) after the client stopped "
                      "taking data", got=f"returned after {ref.in_units(at - started)}")
            ex.expect(not ref.early(at, deadline),
                      f"waits `limit` ({limit_units} units) before giving up",
                      got=f"returned after {ref.in_units(at - started)}")
        transport = writer.transport
        kept = transport.get_write_buffer_size()
        dropped = transport.is_closing() and kept == 0
        client.drain()  # it reads now: a dropped connection ends short, a kept one sends all
        ended = await client.ended(20)
        if not transport.is_closing():
            got = "the connection was left open"
        elif not dropped or len(client.received) >= total:
            got = (f"the connection kept {kept // 1024} KiB to send, and sent everything "
                   "once the client read")
        else:
            got = "the client never saw the end of the connection"
        ex.expect(dropped and ended and len(client.received) < total,
                  "drops the connection: what was still buffered is thrown away", got=got,
                  hint="writer.close() first sends what is buffered, which takes for ever if "
                       "the client never reads; writer.transport.abort() closes at once")
    return ex.report()


# --- Exercise 12.2 ----------------------------------------------------------------------------


def child_argv(code: str) -> list[str]:
    """The command line of a small Python child that runs ``code``: unbuffered (-u), isolated
    from the environment and the user's site-packages (-I) and without the site module (-S), so
    it starts in a few milliseconds."""
    return [sys.executable, "-I", "-S", "-u", "-c", code]


_QUICK = "print('one'); print('two'); print('three')"
_FAILS = "import sys; print('oops'); sys.exit(3)"
# Prints two lines at once, then sleeps far longer than any limit of the check.
_HANGS = "import time; print('started'); print('working'); time.sleep(60)"


class _Spawner:
    """``await spawn(*argv, **kwargs)`` is asyncio.create_subprocess_exec, keeping each child,
    and noting when it exits (in the referee's log, key = its number)."""

    def __init__(self, ref: Referee) -> None:
        self._ref = ref
        self.children: list[asyncio.subprocess.Process] = []
        self._watchers: list[asyncio.Task] = []

    async def __call__(self, *argv: str, **kwargs: Any) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(*argv, **kwargs)
        n = len(self.children)
        self.children.append(proc)
        self._ref.log.record("spawned", n)

        async def watch() -> None:
            await proc.wait()
            self._ref.log.record("exited", n)

        self._watchers.append(asyncio.create_task(watch(), name="check's child watcher"))
        return proc

    def waited(self, n: int) -> bool:
        return self.children[n].returncode is not None

    async def reap(self) -> list[int]:
        """Kill what is still running, wait for every child; the numbers of those it killed."""
        killed = []
        for n, proc in enumerate(self.children):
            if proc.returncode is None:
                try:
                    await asyncio.wait_for(proc.wait(), timeout=4 * UNIT)
                except TimeoutError:
                    proc.kill()
                    killed.append(n)
                    await proc.wait()
        if self._watchers:
            await asyncio.wait(self._watchers)
        return killed


async def check_lines_until(answer: Callable[..., Any]) -> bool:
    """Exercise 12.2: ``await answer(spawn, argv, limit)`` runs ``argv`` with
    ``spawn(*argv, stdout=PIPE)`` and returns ``(lines, returncode)``: the lines the child
    printed (str, without the newline) until it ended or until ``limit`` seconds passed; at the
    limit it kills the child.  It always waits for the child, also when it is cancelled."""
    ex = Exercise("12.2", "a child's lines, with a time limit")
    limit_units = 8
    limit = limit_units * UNIT
    ref = Referee()
    spawn = _Spawner(ref)
    async with ex.attempt(), ref.beating():
        try:
            await _quick_children(ex, ref, spawn, answer, limit)
            await _hanging_child(ex, ref, spawn, answer, limit_units)
            await _cancelled_caller(ex, spawn, answer)
        finally:
            killed = await spawn.reap()
        ex.expect(not killed, "leaves no child running",
                  got=f"the check had to kill {len(killed)} child(ren) your function left",
                  hint="every child must be waited for: `await proc.wait()` on every way out")
    return ex.report()


async def _quick_children(ex: Exercise, ref: Referee, spawn: _Spawner,
                          answer: Callable[..., Any], limit: float) -> None:
    n = len(spawn.children)
    result, _ = await ref.run(ex, answer(spawn, child_argv(_QUICK), limit), timeout=3)
    ex.expect(result == (["one", "two", "three"], 0),
              "a child that prints three lines and exits: (['one', 'two', 'three'], 0)",
              got=result, stop=not isinstance(result, tuple),
              hint="proc = await spawn(*argv, stdout=asyncio.subprocess.PIPE); `async for line "
                   "in proc.stdout:` gives bytes ending in b'\\n': line.decode().rstrip('\\n')")
    # The check's own watcher may hear of the exit after the answer did (on 3.11 a thread
    # waits for the child): then the answer was not late.
    exited = ref.log.first("exited", key=n)
    ex.expect(exited is None or not ref.late(ref.log.last("answer returned"),
                                             _units_after(ref, exited, 0), allowance=1),
              "returns as soon as the child has ended, not at the limit",
              got="it returned at the limit")

    result, _ = await ref.run(ex, answer(spawn, child_argv(_FAILS), limit), timeout=3)
    ex.expect(result == (["oops"], 3),
              "a child that prints 'oops' and exits with code 3: (['oops'], 3)", got=result,
              hint="return proc.returncode, read after `await proc.wait()`")


async def _hanging_child(ex: Exercise, ref: Referee, spawn: _Spawner,
                         answer: Callable[..., Any], limit_units: float) -> None:
    n = len(spawn.children)
    started = ref.now()
    result, _ = await ref.run(ex, answer(spawn, child_argv(_HANGS), limit_units * UNIT),
                              timeout=3)
    at = ref.log.last("answer returned")
    pair = result if isinstance(result, tuple) and len(result) == 2 else (result, None)
    ex.expect(pair[0] == ["started", "working"],
              "a child that prints two lines, then hangs: the two lines it printed before the "
              "limit", got=pair[0],
              hint="read the lines as they arrive (`async for line in proc.stdout`) inside "
                   "`async with asyncio.timeout(limit):`; communicate() loses what it had "
                   "read when it is cancelled")
    ex.expect(pair[1] == -9, "... and kills it at the limit: returncode -9 (SIGKILL)",
              got=pair[1], hint="proc.kill(), then `await proc.wait()`")
    deadline = _units_after(ref, started, limit_units)
    ex.expect(not ref.late(at, deadline, allowance=2),
              f"gives up at the limit ({limit_units} units)",
              got=f"returned after {ref.in_units(at - started)}")
    ex.expect(not ref.early(at, deadline), f"lets the child run until the limit "
              f"({limit_units} units)", got=f"returned after {ref.in_units(at - started)}")
    if len(spawn.children) > n:
        ex.expect(spawn.waited(n), "waits for the killed child before returning",
                  got="its returncode was still None when your function returned",
                  hint="kill() only sends the signal: `await proc.wait()` collects the "
                       "child's exit")


async def _cancelled_caller(ex: Exercise, spawn: _Spawner, answer: Callable[..., Any]) -> None:
    n = len(spawn.children)
    coro = answer(spawn, child_argv(_HANGS), 100 * UNIT)
    if not asyncio.iscoroutine(coro):
        ex.expect(False, "an async function (defined with `async def`)",
                  got=type(coro).__name__, stop=True)
    task = asyncio.create_task(coro, name="lines_until")
    await asyncio.sleep(4 * UNIT)
    task.cancel()
    await asyncio.wait([task], timeout=2)
    if not task.done():
        got = "still running 2 s after the cancel"
    elif task.cancelled():
        got = "cancelled"
    elif task.exception() is not None:
        got = f"it raised {task.exception()!r}"
    else:
        got = f"it returned {task.result()!r}"
    ex.expect(task.done() and task.cancelled(),
              "when the caller cancels it, the cancellation goes on to the caller", got=got,
              hint="catch only TimeoutError; clean up in `finally:`")
    if len(spawn.children) > n:
        ex.expect(spawn.waited(n),
                  "when the caller cancels it, the child is killed and waited for",
                  got="the child was still running",
                  hint="in `finally:`: if proc.returncode is None, proc.kill(); then "
                       "`await proc.wait()` (an await in finally still runs after a cancel)")
