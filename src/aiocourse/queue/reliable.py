"""A job queue that loses nothing: a Redis stream, a consumer group, and acknowledgements.

    r = await connect(url)                       # fails fast when no Redis answers
    queue = JobQueue(r, "jobs", visibility_timeout=30)
    await queue.create()
    await queue.push(b"2", b"5", b"1", b"1")
    worker = Worker(queue, sleep_job(unit=0.05), name="w1", concurrency=10)
    task = asyncio.create_task(worker.run())
    ...
    worker.stop()                                # stop taking jobs, finish the ones in flight
    await task

Each job is an entry of the stream ``jobs`` (field ``data``).  Workers read new entries with
``XREADGROUP``: Redis remembers which worker holds which entry (the group's pending list) until
the worker acknowledges it with ``XACK``, in the same MULTI as storing the result in the hash
``jobs:results`` under the entry's id (so a job that runs twice is still counted once) and
``XDEL``.  A worker renews its hold on the jobs it is running, and only on those still its own;
a job held by a worker that stopped renewing (it died) for longer than the queue's
``visibility_timeout`` is taken over by another worker (``XPENDING`` finds it, ``XCLAIM`` takes
it), and a job delivered n times waits ``visibility_timeout * 2**(n-1)`` before the next try.
A payload the handler rejects (``BadPayload``) goes to the stream ``jobs:dead`` with the reason
and the whole entry, and so does a job that failed ``max_deliveries`` times; ``replay_dead()``
puts them back, ``discard_dead()`` drops them.  What grows: results stay in ``jobs:results``
until the producer collects them (``pop_results``), dead letters until someone replays or
discards them; done jobs leave the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError, ResponseError
from redis.retry import Retry

__all__ = ["BadPayload", "DeadLetter", "JobQueue", "QueueStats", "RedisUnavailable", "Worker",
           "WorkerStats", "connect", "parse_units", "sleep_job"]

Handler = Callable[[bytes], Awaitable[object]]


class RedisUnavailable(ConnectionError):
    """No Redis answered at the URL in time."""


class BadPayload(ValueError):
    """The job's payload can never succeed: it goes to the dead-letter stream with this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def connect(url: str, *, timeout: float = 2.0, **kwargs) -> aioredis.Redis:
    """A ``redis.asyncio.Redis`` for ``url`` that has answered PING within ``timeout`` seconds.

    By default redis-py retries a failed connection 10 times with backoff, so a Redis that is
    not running shows up as a pause of several seconds; a server that accepts the connection
    but never answers would hang the first command for ``socket_timeout``.  Here both become a
    ``RedisUnavailable`` error within ``timeout``.
    """
    kwargs.setdefault("socket_connect_timeout", timeout)
    kwargs.setdefault("retry", Retry(ExponentialBackoff(cap=0.25, base=0.02), 3))
    client = aioredis.Redis.from_url(url, **kwargs)
    probe = aioredis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                    retry=Retry(ExponentialBackoff(), 0))
    try:
        async with asyncio.timeout(timeout):
            await probe.ping()
    except (TimeoutError, OSError, RedisError) as exc:
        await client.aclose()
        why = str(exc).rstrip(".") or type(exc).__name__
        if isinstance(exc, TimeoutError):
            why = "no answer (is something else listening on that port?)"
        raise RedisUnavailable(
            f"no Redis answered at {url} within {timeout:g} s: {why}. Start one with "
            "`python -m aiocourse.queue server` and pass its URL (--url or REDIS_URL)."
        ) from None
    finally:
        await probe.aclose()
    return client


# --- the job of the lessons: sleep for a number of units ----------------------------------

MAX_UNITS = 100
_DIGITS = re.compile(rb"[0-9]{1,12}")


def parse_units(data: bytes, max_units: int = MAX_UNITS) -> int:
    """The whole number of units a job asks for, or ``BadPayload`` saying what is wrong.

    Strict on purpose: ``int()`` would also accept ``" 2 "``, ``"+2"``, ``"2_0"`` and ``"٣"``.
    """
    if not isinstance(data, bytes):
        raise BadPayload(f"payload is {type(data).__name__}, not bytes")
    if _DIGITS.fullmatch(data):
        n = int(data)
        if n > max_units:
            raise BadPayload(f"too big: {n} units (at most {max_units})")
        return n
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadPayload(f"binary, not text: {_preview(data)}") from None
    if re.fullmatch(r"\s*-\s*[0-9]+\s*", text):
        raise BadPayload(f"negative: {text.strip()}")
    if re.fullmatch(r"[0-9]+", text, re.ASCII):
        raise BadPayload(f"too big: {len(text)} digits (at most {max_units} units)")
    return_text = text if len(text) <= 20 else text[:17] + "..."
    raise BadPayload(f"not a whole number: {return_text!r}")


def sleep_job(unit: float = 1.0, max_units: int = MAX_UNITS,
              log: Callable[[str], None] | None = None) -> Handler:
    """The post's job, ``do_some_work(x)``: sleep ``x`` units; the result is ``x``."""

    async def sleep_units(data: bytes) -> int:
        n = parse_units(data, max_units)
        if log:
            log(f"Waiting {n}")
        await asyncio.sleep(n * unit)
        if log:
            log(f"Done {n}")
        return n

    return sleep_units


def _preview(data: bytes, limit: int = 16) -> str:
    head = repr(data[:limit])
    return head if len(data) <= limit else f"{head}... ({len(data):,} bytes)"


# --- the queue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    """A job that will not be retried by itself: its id, why, and the whole entry it was.

    ``dead_id`` is its entry in the dead-letter stream; ``fields`` are the job's own fields
    (``payload`` is its ``data``), kept whole until ``replay_dead`` or ``discard_dead``.
    """

    id: str
    reason: str
    size: int
    fields: dict[bytes, bytes]
    dead_id: str

    @property
    def payload(self) -> bytes | None:
        return self.fields.get(b"data")


@dataclass(frozen=True)
class QueueStats:
    waiting: int   # in the stream, not yet delivered to a worker
    running: int   # delivered, not yet acknowledged (the group's pending list)
    results: int
    dead: int


DEFAULT_VISIBILITY_TIMEOUT = 30.0  # seconds


class JobQueue:
    """The Redis keys of one queue and the producer side: ``push``, ``stats``, ``results``.

    ``visibility_timeout`` belongs to the queue, not to a worker: one worker's renewals and
    another's take-overs must agree on it.  ``create()`` stores it in Redis (the hash
    ``<name>:config``), so every worker of the queue, in any process, uses the same one; a
    different value for a queue that exists is an error (``reset()`` to change it).  None:
    what Redis holds, else 30 s.
    """

    def __init__(self, redis: aioredis.Redis, name: str = "jobs", *,
                 group: str = "workers", visibility_timeout: float | None = None) -> None:
        if not name or not isinstance(name, str):
            raise TypeError(f"queue name must be a non-empty str, not {name!r}")
        if visibility_timeout is not None and not visibility_timeout > 0:
            raise ValueError(f"visibility_timeout must be > 0 seconds, not "
                             f"{visibility_timeout!r}")
        self.redis = redis
        self.name = name
        self.group = group
        self.stream = name
        self.dead = f"{name}:dead"
        self.results_key = f"{name}:results"
        self.errors_key = f"{name}:errors"
        self.config_key = f"{name}:config"
        self._wanted_timeout = visibility_timeout
        self._timeout: float | None = None  # what Redis holds, once create() has run

    def __repr__(self) -> str:
        return f"<JobQueue {self.name!r} group {self.group!r}>"

    @property
    def visibility_timeout(self) -> float:
        """Seconds a job may go unrenewed before another worker takes it (after create())."""
        if self._timeout is None:
            raise RuntimeError(f"{self!r} has not read its settings yet: await create() first")
        return self._timeout

    async def create(self) -> None:
        """Create the stream, its consumer group and its settings if they do not exist yet."""
        try:
            # Id "0": a group created after jobs were pushed still delivers them.
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        wanted = self._wanted_timeout
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(self.config_key, "visibility_timeout",
                        repr(wanted or DEFAULT_VISIBILITY_TIMEOUT))
            pipe.hget(self.config_key, "visibility_timeout")
            _, stored = await pipe.execute()
        stored = float(stored)
        if wanted is not None and stored != wanted:
            raise ValueError(
                f"{self!r} exists with visibility_timeout={stored:g} s, not {wanted:g}: all "
                "workers of a queue use one; pass none to use it, or reset() the queue")
        self._timeout = stored

    async def reset(self) -> None:
        """Delete the queue's keys (jobs, results, dead letters, settings); create it afresh."""
        await self.redis.delete(self.stream, self.dead, self.results_key, self.errors_key,
                                self.config_key)
        await self.create()

    async def push(self, *payloads: bytes | str | int, batch: int = 1000) -> list[str]:
        """Add jobs; returns their ids.  Pipelined: one round trip per ``batch`` jobs."""
        ids: list[str] = []
        for i in range(0, len(payloads), batch):
            async with self.redis.pipeline(transaction=False) as pipe:
                for p in payloads[i:i + batch]:
                    pipe.xadd(self.stream, {"data": p if isinstance(p, bytes) else str(p)})
                ids.extend(_text(x) for x in await pipe.execute())
        return ids

    async def stats(self) -> QueueStats:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xlen(self.stream)
            pipe.xpending(self.stream, self.group)
            pipe.hlen(self.results_key)
            pipe.xlen(self.dead)
            length, pending, results, dead = await pipe.execute()
        running = pending["pending"]
        return QueueStats(waiting=length - running, running=running, results=results, dead=dead)

    async def results(self) -> dict[str, str]:
        """Job id -> result, one entry per job however often it ran (they stay: see
        ``pop_results``)."""
        raw = await self.redis.hgetall(self.results_key)
        return {_text(k): _text(v) for k, v in sorted(raw.items())}

    async def pop_results(self, ids: list[str]) -> dict[str, str | None]:
        """The results of these jobs (None: not done yet), removed from Redis as they are read.

        Results are kept until collected: only the producer knows when it no longer needs one,
        and an expiry would drop a result that a slow producer still waits for.
        """
        if not ids:
            return {}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hmget(self.results_key, ids)
            pipe.hdel(self.results_key, *ids)
            values, _ = await pipe.execute()
        return {i: None if v is None else _text(v) for i, v in zip(ids, values, strict=True)}

    async def dead_letters(self) -> list[DeadLetter]:
        """The dead-letter stream, oldest first."""
        out = []
        for dead_id, f in await self.redis.xrange(self.dead):
            job = {k[len(_JOB):]: v for k, v in f.items() if k.startswith(_JOB)}
            out.append(DeadLetter(id=_text(f[b"id"]), reason=_text(f[b"reason"]),
                                  size=int(f[b"size"]), fields=job, dead_id=_text(dead_id)))
        return out

    async def replay_dead(self, letters: list[DeadLetter] | None = None) -> list[str]:
        """Push these dead letters (default: all) back as new jobs; returns their new ids.

        Each one's XADD and XDEL go in one MULTI: a letter is either back in the queue or still
        a dead letter.  (Two people replaying the same letter at the same moment would push it
        twice: delivery is at least once anyway.)
        """
        letters = await self.dead_letters() if letters is None else letters
        ids = []
        for letter in letters:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.xadd(self.stream, letter.fields or {"data": b""})
                pipe.xdel(self.dead, letter.dead_id)
                new_id, _ = await pipe.execute()
            ids.append(_text(new_id))
        return ids

    async def discard_dead(self, letters: list[DeadLetter]) -> int:
        """Drop these dead letters for good; returns how many were still there."""
        if not letters:
            return 0
        return await self.redis.xdel(self.dead, *[letter.dead_id for letter in letters])


_JOB = b"job."  # a dead letter keeps the job's own fields under this prefix


def _text(value: bytes | str | int) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# --- the worker -----------------------------------------------------------------------------


@dataclass
class WorkerStats:
    done: int = 0        # handler returned; result stored and job acknowledged
    dead: int = 0        # sent to the dead-letter stream
    failed: int = 0      # handler raised: left for a retry after the visibility timeout
    recovered: int = 0   # taken over from a worker that stopped renewing them
    max_running: int = 0
    flushes: int = 0     # MULTI round trips that stored results (batching: flushes < done)
    lost: int = 0        # jobs no longer ours while we ran them (we froze; another took over)
    errors: list[str] = field(default_factory=list)


class Worker:
    """Runs jobs of a ``JobQueue``, at most ``concurrency`` at a time; see the module docstring.

    ``run()`` works until ``stop()``: then it takes no new job, lets the running ones finish,
    stores their results and returns its ``WorkerStats``.  Cancelling ``run()`` instead drops
    the running jobs; they stay in the pending list and another worker recovers them.  The
    visibility timeout is the queue's (``JobQueue(visibility_timeout=...)``).
    """

    def __init__(self, queue: JobQueue, handler: Handler, *, name: str | None = None,
                 concurrency: int = 10, max_deliveries: int = 3, max_payload: int = 1024,
                 block: float = 1.0, log: Callable[[str], None] | None = None) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, not {concurrency!r}")
        if max_deliveries < 1:
            raise ValueError(f"max_deliveries must be >= 1, not {max_deliveries!r}")
        self.queue = queue
        self.handler = handler
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.concurrency = concurrency
        self.max_deliveries = max_deliveries
        self.max_payload = max_payload
        self._block = block
        self.log = log
        self.stats = WorkerStats()
        self._running: dict[bytes, asyncio.Task] = {}
        self._deliveries: dict[bytes, int] = {}  # running job -> how often it was delivered
        self._fields: dict[bytes, dict] = {}      # running job -> its entry (for a dead letter)
        self._lost: set[bytes] = set()            # running jobs another worker took over
        self._slot_free = asyncio.Event()
        self._to_ack: list[tuple[bytes, bytes]] = []    # (id, result)
        self._to_bury: list[tuple[bytes, str, dict]] = []  # (id, reason, the entry's fields)
        self._errors: list[tuple[bytes, str]] = []
        self._flush_wanted = asyncio.Event()
        self._jobs_over = asyncio.Event()  # graceful stop: nothing runs any more, renewals end
        self._stopping = False
        self._reader: aioredis.Redis | None = None
        self._reader_id: int | None = None
        self._unblocker: asyncio.Task | None = None
        self._started = False

    def __repr__(self) -> str:
        return f"<Worker {self.name!r} on {self.queue.name!r}, {len(self._running)} running>"

    # --- public ----------------------------------------------------------------------------

    async def run(self, *, drain: bool = False) -> WorkerStats:
        """Run jobs until ``stop()``; with ``drain=True`` also stop once the queue is empty.

        Empty means: nothing waiting, nothing running here, and nothing held by another worker
        (a dead worker's jobs are waited for and taken over).  Handy for batches, tests and
        lessons; a service runs without it.
        """
        if self._started:
            raise RuntimeError(f"{self!r} already ran: create a new Worker")
        self._started = True
        await self.queue.create()  # reads the queue's visibility timeout from Redis
        self.visibility_timeout = self.queue.visibility_timeout
        # The read blocks at most this long, so renewals and recovery run often enough, and
        # less than redis-py's default socket_timeout (5 s), which would end a longer BLOCK.
        self.block = min(self._block, self.visibility_timeout / 3, 4.0)
        self._renew_script = self.queue.redis.register_script(_RENEW)
        self._reader = self.queue.redis.client()  # its own connection: it blocks in XREADGROUP
        try:
            self._reader_id = await self._reader.client_id()
            async with asyncio.TaskGroup() as tg:
                flusher = tg.create_task(self._flusher(), name=f"{self.name} acks")
                renewer = tg.create_task(self._renewer(), name=f"{self.name} renew")
                await self._read_loop(tg, drain)
                if self._running:  # graceful stop: let the running jobs finish
                    await asyncio.wait(list(self._running.values()))
                # The helpers end by themselves, not by cancel(): a cancellation can vanish
                # inside a redis-py command on Python 3.11 (see _raise_if_cancel_lost).
                self._stopping = True
                self._jobs_over.set()
                self._flush_wanted.set()
                await renewer
                await flusher
        finally:
            if self._unblocker is not None:
                await asyncio.gather(self._unblocker, return_exceptions=True)
            await self._reader.aclose()
        return self.stats

    def stop(self) -> None:
        """Take no new jobs; ``run()`` returns once the running ones are finished and stored.

        Call it from the worker's own event loop (``loop.call_soon_threadsafe(worker.stop)``
        from another thread).
        """
        if self._stopping:
            return
        self._stopping = True
        self._slot_free.set()
        if self._reader_id is not None:
            # Wake the blocked XREADGROUP now rather than at the end of its BLOCK time:
            # CLIENT UNBLOCK makes it return as if it had timed out, without losing an entry.
            self._unblocker = asyncio.get_running_loop().create_task(
                self._unblock(), name=f"{self.name} unblock")

    # --- reading ---------------------------------------------------------------------------

    async def _read_loop(self, tg: asyncio.TaskGroup, drain: bool) -> None:
        q = self.queue
        next_reclaim = 0.0
        cancels_before = asyncio.current_task().cancelling()
        block_ms = max(1, int(self.block * 1000))
        # Jobs this worker name held when it stopped last time (a restart with the same name):
        # reading from id 0 returns our own pending entries instead of new ones.
        await self._deliver(tg, await self._reader.xreadgroup(
            q.group, self.name, {q.stream: "0"}, count=self.concurrency), recovered=True)
        while not self._stopping:
            _raise_if_cancel_lost(cancels_before)
            free = self.concurrency - len(self._running)
            if free <= 0:
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            if time.monotonic() >= next_reclaim:
                next_reclaim = time.monotonic() + self.visibility_timeout / 2
                await self._reclaim(tg, free)
                continue
            # Draining, never block in Redis: an empty answer is what we are waiting for.
            reply = await self._reader.xreadgroup(q.group, self.name, {q.stream: ">"},
                                                  count=free, block=None if drain else block_ms)
            if reply or not drain:
                await self._deliver(tg, reply)
                continue
            wait = max(0.0, min(self.block, next_reclaim - time.monotonic()))
            if self._running:  # nothing new: wait for a job to end (or the next reclaim)
                self._slot_free.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._slot_free.wait()
            elif (await q.redis.xpending(q.stream, q.group))["pending"] == 0:
                self._stopping = True  # drained: nothing waits, runs, or is held elsewhere
            else:  # another worker holds jobs: they finish, or we take them over
                await asyncio.sleep(wait)

    async def _deliver(self, tg: asyncio.TaskGroup, reply, *, recovered: bool = False) -> None:
        for _stream, entries in reply or ():
            for entry_id, fields in entries:
                if not fields:  # deleted from the stream while pending: nothing to run
                    await self.queue.redis.xack(self.queue.stream, self.queue.group, entry_id)
                    continue
                self._start(tg, entry_id, fields, recovered)

    def _start(self, tg: asyncio.TaskGroup, entry_id: bytes, fields: dict,
               recovered: bool, deliveries: int = 1) -> None:
        if recovered:
            self.stats.recovered += 1
        data = fields.get(b"data")
        label = _text(data) if data is not None and len(data) <= 12 else _text(entry_id)
        self._deliveries[entry_id] = deliveries
        self._fields[entry_id] = fields
        self._running[entry_id] = tg.create_task(self._job(entry_id, data),
                                                 name=f"job {label}")
        self.stats.max_running = max(self.stats.max_running, len(self._running))

    async def _reclaim(self, tg: asyncio.TaskGroup, free: int) -> None:
        """Take over jobs that nobody renewed for ``visibility_timeout`` (their worker died).

        XPENDING lists the held jobs with their idle time and delivery count; XCLAIM with a
        minimum idle time takes a job only if it is still idle, so two workers that both spot
        it cannot both get it.  (Redis 6.2's XAUTOCLAIM does both in one call, but it does not
        report delivery counts, and Ubuntu 22.04, Binder's base, ships Redis 6.0.)  A job
        delivered n times waits ``visibility_timeout * 2**(n-1)``: one that keeps failing, or
        that kills its worker, is retried after 1, 2, 4 ... timeouts, not in a tight loop.
        """
        q = self.queue
        idle_ms = int(self.visibility_timeout * 1000)
        stale: dict[bytes, int] = {}  # id -> deliveries so far
        start: bytes | str = "-"
        for _ in range(10):  # at most 1,000 pending entries looked at per round
            page = await q.redis.xpending_range(q.stream, q.group, start, "+", 100)
            for p in page:
                backoff = 2 ** min(max(p["times_delivered"] - 1, 0), 10)
                if p["time_since_delivered"] >= idle_ms * backoff and len(stale) < free:
                    stale[p["message_id"]] = p["times_delivered"]
            if len(page) < 100 or len(stale) >= free:
                break
            start = _next_id(page[-1]["message_id"])
        if not stale:
            return
        claimed = await q.redis.xclaim(q.stream, q.group, self.name, idle_ms, list(stale))
        # XCLAIM returns only the entries that were still idle (not just taken by another
        # worker); an entry deleted from the stream comes back without fields.
        got = {entry_id: fields for entry_id, fields in claimed if entry_id is not None}
        errors = await q.redis.hmget(q.errors_key, list(got)) if got else []
        for (entry_id, fields), last_error in zip(got.items(), errors, strict=True):
            n = stale[entry_id] + 1  # XCLAIM counted one more delivery
            if not fields:  # deleted: nothing to run, stop holding it
                await q.redis.xack(q.stream, q.group, entry_id)
            elif n > self.max_deliveries:  # its last worker died (or froze) on it
                reason = f"gave up after {n - 1} deliveries"
                if last_error:
                    reason += f" (last error: {_text(last_error)})"
                self._bury(entry_id, reason, fields)
            else:
                self._start(tg, entry_id, fields, recovered=True, deliveries=n)

    async def _unblock(self) -> None:
        with contextlib.suppress(RedisError):
            await self.queue.redis.client_unblock(self._reader_id)

    # --- running one job -------------------------------------------------------------------

    async def _job(self, entry_id: bytes, data: bytes | None) -> None:
        try:
            if data is None:
                raise BadPayload("no 'data' field")
            if len(data) > self.max_payload:
                raise BadPayload(f"too large: {len(data):,} bytes (at most "
                                 f"{self.max_payload:,})")
            result = await self.handler(data)
        except BadPayload as exc:
            self._bury(entry_id, exc.reason, self._fields[entry_id])
        except Exception as exc:  # a bug or a transient failure: retried later
            self.stats.failed += 1
            text = f"{type(exc).__name__}: {exc}"
            self.stats.errors.append(text)
            n = self._deliveries[entry_id]
            if n >= self.max_deliveries:
                self._bury(entry_id, f"gave up after {n} deliveries (last error: {text})",
                           self._fields[entry_id])
            else:
                self._errors.append((entry_id, text))
                if self.log:
                    self.log(f"job {_text(entry_id)} failed ({text}); it will be retried")
        else:
            self._to_ack.append((entry_id, _as_bytes(result)))
        finally:
            del self._running[entry_id]
            del self._deliveries[entry_id]
            del self._fields[entry_id]
            self._lost.discard(entry_id)
            self._slot_free.set()
            self._flush_wanted.set()

    def _bury(self, entry_id: bytes, reason: str, fields: dict) -> None:
        self._to_bury.append((entry_id, reason, fields))
        self._flush_wanted.set()
        if self.log:
            self.log(f"dead letter: {reason}")

    # --- storing results, in batches ------------------------------------------------------

    async def _flusher(self) -> None:
        """Store results and acknowledge jobs: one MULTI for everything finished meanwhile.

        While one flush is on its way to Redis, more jobs finish; the next flush takes them
        all.  At 1 job at a time that is one round trip per job; under load it is one per
        hundreds of jobs, which is where the throughput comes from.
        """
        while True:
            await self._flush_wanted.wait()
            _raise_if_cancel_lost()
            self._flush_wanted.clear()
            if self._to_ack or self._to_bury or self._errors:
                await self._flush()
            elif self._stopping and not self._running:
                return

    async def _flush(self) -> None:
        q = self.queue
        done, self._to_ack = self._to_ack, []
        dead, self._to_bury = self._to_bury, []
        errors, self._errors = self._errors, []
        async with q.redis.pipeline(transaction=True) as pipe:
            ids = [i for i, _ in done] + [i for i, _, _ in dead]
            if done:
                pipe.hset(q.results_key, mapping=dict(done))
            for entry_id, reason, fields in dead:
                # The whole entry, so that the job can be looked at and replayed.
                letter = {"id": entry_id, "reason": reason,
                          "size": len(fields.get(b"data") or b"")}
                letter.update({_JOB + _as_bytes(k): v for k, v in fields.items()})
                pipe.xadd(q.dead, letter)
            if errors:
                pipe.hset(q.errors_key, mapping=dict(errors))
            if ids:
                pipe.xack(q.stream, q.group, *ids)
                pipe.xdel(q.stream, *ids)
                pipe.hdel(q.errors_key, *ids)
            await pipe.execute()
        self.stats.done += len(done)
        self.stats.dead += len(dead)
        self.stats.flushes += 1
        self._flush_wanted.set()  # look again: the stop condition may now hold

    # --- keeping the jobs we run -----------------------------------------------------------

    async def _renewer(self) -> None:
        """Tell Redis every visibility_timeout/3 that our running jobs are still ours."""
        q = self.queue
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.visibility_timeout / 3):
                    await self._jobs_over.wait()
            _raise_if_cancel_lost()
            if self._jobs_over.is_set():
                return
            ids = [i for i in self._running if i not in self._lost]
            if ids:
                kept = set(await self._renew_script(keys=[q.stream],
                                                    args=[q.group, self.name, *ids]))
                for entry_id in ids:
                    if entry_id not in kept and entry_id in self._running:
                        # We froze past the timeout and another worker took the job over
                        # (or has finished it since): both runs finish, and its result still
                        # counts once (keyed by id).
                        self._lost.add(entry_id)
                        self.stats.lost += 1
                        if self.log:
                            self.log(f"job {_text(entry_id)} is no longer ours (another worker "
                                     "took it over); finishing it anyway")


# Renew our hold on the jobs we run, and only on those still ours.  XCLAIM to ourselves with
# JUSTID resets a job's idle time without counting a delivery (a lease renewal), but XCLAIM
# does not look at who holds the job: a worker that froze past the visibility timeout and
# wakes up would take back a job another worker has taken over since.  XPENDING with a
# consumer lists the job only if it is ours, and a script runs both without anything between.
# Returns the ids it renewed.
_RENEW = """
local kept = {}
for i = 3, #ARGV do
  local mine = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
  if #mine == 1 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    kept[#kept + 1] = ARGV[i]
  end
end
return kept
"""


def _raise_if_cancel_lost(cancels_before: int = 0) -> None:
    """Raise CancelledError if this task was cancelled but the CancelledError never came.

    On Python 3.11, ``asyncio.wait_for()`` drops a cancellation that arrives just as the
    operation it waits for finishes (CPython gh-86296; 3.12 rebuilt wait_for on
    ``asyncio.timeout()``, gh-96764).  redis-py sends every command through wait_for when a
    ``socket_timeout`` is set (5 s by default), so ``task.cancel()`` can vanish inside any
    command and a ``while`` loop would go on for ever.  The request still counts in
    ``Task.cancelling()``, so the worker's loops look there.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling() > cancels_before:
        raise asyncio.CancelledError


def _next_id(entry_id: bytes) -> str:
    # The smallest id after this one ("(id" would do it on Redis 6.2+ only).
    ms, _, seq = entry_id.partition(b"-")
    return f"{int(ms)}-{int(seq or 0) + 1}"


def _as_bytes(result: object) -> bytes:
    if isinstance(result, bytes):
        return result
    return b"" if result is None else str(result).encode("utf-8")
