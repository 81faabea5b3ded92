"""What the tests of the exercise checks share: loading a reference solution, running a check."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import logging
import threading
import warnings
from pathlib import Path
from types import ModuleType

import psutil

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "notebooks" / "solutions"


def load_solution(stem: str) -> ModuleType:
    """The module ``notebooks/solutions/<stem>.py`` (solutions are files, not a package)."""
    path = SOLUTIONS / f"{stem}.py"
    if not path.exists():
        raise FileNotFoundError(f"no reference solution {path}")
    spec = importlib.util.spec_from_file_location(f"solutions_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _threads() -> list[str]:
    # asyncio keeps its default executor's threads (asyncio_0, ...) for the loop's life, and a
    # child watcher's thread (asyncio-waitpid-N, 3.11) ends with its child, just after.
    return sorted(t.name for t in threading.enumerate()
                  if not t.name.startswith(("asyncio_", "asyncio-waitpid-")))


# multiprocessing's helpers: started by the first process pool (the forkserver is 3.14's default
# start method on Linux), they serve every later one and end with this process.
_MP_HELPERS = ("from multiprocessing.resource_tracker import main",
               "from multiprocessing.forkserver import main")


def living_children() -> set[int]:
    """This process's child processes that are alive (no zombies), without what stays for the
    process's life by design: its shared Redis server (as in a notebook) and multiprocessing's
    resource tracker and forkserver."""
    from aiocourse import redis_server

    shared = redis_server._shared  # the one Redis of the process, as in a notebook: it stays
    keep = {shared.pid} if shared is not None and shared.pid is not None else set()
    alive = set()
    for child in psutil.Process().children(recursive=True):
        if child.pid in keep:
            continue
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            if any(h in " ".join(child.cmdline()) for h in _MP_HELPERS):
                continue
            alive.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def run_check(check, answer, capsys, *, quiet: bool = True) -> tuple[bool, str]:
    """Run an async check as a notebook cell would; return its verdict and what it printed.

    Nothing the answer or the check started may outlive the check, and the loop is as it was:
    no task, thread or child process left, debug mode off, the loop's exception handler and the
    ``asyncio`` logger's handlers as before.  With ``quiet`` (the default) it must also warn
    nothing and print nothing on stderr (no log line, no "Exception in thread").
    """
    async def main():
        loop = asyncio.get_running_loop()
        handler = loop.get_exception_handler()
        threads, children = _threads(), living_children()
        ok = await check(answer)
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not left, f"tasks left: {left}"
        assert loop.get_debug() is False, "debug mode left on"
        assert loop.get_exception_handler() is handler, "the loop's exception handler changed"
        assert _threads() == threads, f"threads left: {_threads()}"
        left = living_children() - children
        assert not left, f"child processes left: {left}"
        return ok

    log_handlers = list(logging.getLogger("asyncio").handlers)
    gc.collect()  # what earlier tests left for the collector is not this check's
    if quiet:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ok = asyncio.run(main())
            gc.collect()
        assert [f"{w.category.__name__}: {w.message}" for w in caught] == [], "the check warned"
    else:  # the test looks at the warnings itself (pytest.warns)
        ok = asyncio.run(main())
        gc.collect()
    assert logging.getLogger("asyncio").handlers == log_handlers, "an asyncio log handler left"
    out = capsys.readouterr()
    if quiet:
        assert out.err == "", out.err
    return ok, out.out
