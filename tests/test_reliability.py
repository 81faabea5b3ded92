"""Run every notebook twice in one kernel, and check it leaves nothing behind.

Learners re-run cells, so a notebook must survive "Run All" twice in the same kernel (closed
loops, servers already bound and leftover state show up the second time).  Around the two runs
we take a snapshot of the kernel process: threads, child processes, listening sockets, event
loops that are not closed, and this machine's temporary folder.  Nothing may be added by the
notebook; the only exception is the worker threads of the kernel loop's default executor
(`asyncio_0`, ...), which asyncio keeps for the life of the loop once `to_thread` has been used.
Their number is not a fact of the notebook: `ThreadPoolExecutor` starts another worker when a call
arrives before the last one has gone back to idle, which is a race (two `to_thread` calls in a row
start a second worker on a busy machine and not on a quiet one).  So those threads are checked by
what they are, threads of the kernel loop's own executor and no more than its `max_workers`, and
every other thread exactly.

Run with `make reliability` (or `python -m pytest -m reliability`); it takes about twice as long
as the notebooks themselves, so `make test` leaves it to `.ci/run`.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

pytestmark = pytest.mark.reliability

SNAPSHOT = r'''
import asyncio as _a, gc as _gc, json as _j, os as _os, threading as _t
import psutil as _p
_me = _p.Process()
_kernel_loop = None
try:
    _kernel_loop = _a.get_running_loop()
except RuntimeError:
    pass
# setup() freezes the objects alive at its start, and get_objects() does not list frozen ones.
_frozen = _gc.get_freeze_count()
_gc.unfreeze()
_gc.collect()
_loops = sum(1 for o in _gc.get_objects()
             if isinstance(o, _a.AbstractEventLoop) and o is not _kernel_loop and not o.is_closed())
if _frozen:
    _gc.freeze()
_pool = getattr(_kernel_loop, "_default_executor", None)
_pool_threads = set(getattr(_pool, "_threads", ()))
print(_j.dumps({
    "threads": sorted(t.name for t in _t.enumerate() if t not in _pool_threads),
    "executor_threads": len(_pool_threads),
    "executor_max": getattr(_pool, "_max_workers", 0),
    "children": sorted(f"{c.pid}:{c.name()}" for c in _me.children(recursive=True)),
    "listening": sorted(f"{c.laddr.ip}:{c.laddr.port}" for c in _me.net_connections("inet")
                        if c.status == _p.CONN_LISTEN),
    "open_loops": _loops,
}))
'''


def _run_cell(client: NotebookClient, source: str) -> dict:
    cell = nbformat.v4.new_code_cell(source)
    # nbclient stores an executed cell at its index in the notebook: put cell 0 back after.
    first = client.nb.cells[0]
    try:
        client.execute_cell(cell, 0)
    finally:
        client.nb.cells[0] = first
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return json.loads(text.strip().splitlines()[-1])


def _run_all(client: NotebookClient, nb, label: str) -> None:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        try:
            client.execute_cell(cell, index)
        except CellExecutionError as exc:
            raise AssertionError(f"{label}: cell {index} failed:\n{str(exc)[-1500:]}") from None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_run_all_twice_and_leave_nothing(path: Path, tmp_path: Path, monkeypatch):
    # The kernel and everything it starts get a temporary folder of their own, so that what the
    # notebook leaves there is seen exactly, whatever else runs on the machine.
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        before = _run_cell(client, SNAPSHOT)
        _run_all(client, nb, f"{path.name}, first Run All")
        after_one = _run_cell(client, SNAPSHOT)
        _run_all(client, nb, f"{path.name}, second Run All in the same kernel")
        after_two = _run_cell(client, SNAPSHOT)
    for key in ("children", "listening", "open_loops"):
        assert after_one[key] == before[key], f"{path.name} left {key}: {after_one[key]}"
        assert after_two[key] == before[key], f"{path.name} left {key} after the second run"
    assert after_one["threads"] == before["threads"], \
        f"{path.name} left threads running: {after_one['threads']}"
    assert after_two["threads"] == before["threads"], \
        f"{path.name} left threads running after the second run: {after_two['threads']}"
    for snapshot in (after_one, after_two):
        assert snapshot["executor_threads"] <= snapshot["executor_max"], snapshot
    left = sorted(e.name for e in tmp_path.iterdir() if not e.name.startswith("ipykernel_"))
    assert not left, f"{path.name} left temporary files: {left}"
