"""What every test module shares: the test process starts as a notebook's kernel does."""

from __future__ import annotations

import gc
import warnings

import psutil
import pytest
from checks_support import living_children


@pytest.fixture(autouse=True, scope="session")
def frozen_heap():
    """Move the objects alive at the first test out of the garbage collector's sight.

    Every notebook's first cell calls ``aiocourse.notebook.setup()``, which does the same to the
    kernel.  Without it a full collection in a test process (about 260,000 objects: pytest,
    matplotlib, aiohttp, ...) took 80-112 ms, and one landing inside a timed check made the
    answer late: CI refused check 16.1's events answer, its 0.7 s group at 0.82 s.
    """
    gc.collect()
    gc.freeze()
    yield


@pytest.fixture(autouse=True, scope="module")
def no_child_outlives_its_file(request):
    """Say which test file left a child process running (a warning in the summary, with its
    command line): later files in the same xdist worker would otherwise see it as theirs."""
    before = living_children()
    yield
    left = []
    for pid in sorted(living_children() - before):
        try:
            left.append(f"{pid} {' '.join(psutil.Process(pid).cmdline())[:120]}")
        except psutil.NoSuchProcess:
            pass
    if left:
        warnings.warn(f"{request.node.nodeid} left child processes running: {left}",
                      pytest.PytestWarning, stacklevel=1)
