"""Small things every notebook of the course does the same way.

    from aiocourse.notebook import setup, caught_warnings
    setup()                      # checks the Python version, prints what runs the notebook

    with caught_warnings():      # warnings printed as `Category: message`, never a temp path
        coro = asyncio.sleep(1)
        del coro                 # 'coroutine ... was never awaited' shows up here, in this cell

    with caught_log("asyncio") as records:   # what asyncio logs, kept instead of on stderr
        ...
"""

from __future__ import annotations

import contextlib
import gc
import logging
import platform
import re
import sys
import warnings
from collections.abc import Iterator

__all__ = ["setup", "caught_warnings", "caught_log", "our_tasks", "enable_figure_display",
           "display_or_return", "MIN_PYTHON"]

MIN_PYTHON = (3, 11)


def setup() -> None:
    """Check that this Python is supported and say which one runs the notebook."""
    if sys.version_info < MIN_PYTHON:
        raise RuntimeError(
            f"this course needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer; this kernel runs "
            f"{platform.python_version()}. Pick another kernel or see the README's set-up.")
    import asyncio

    try:
        loop = asyncio.get_running_loop()
        where = f"a running {type(loop).__name__} (top-level await works)"
    except RuntimeError:
        where = "no running event loop (a script: use asyncio.run)"
    print(f"Python {platform.python_version()}, {where}")
    # Move everything alive now (the kernel, IPython, matplotlib, ...) out of the collector's
    # sight: its full collections then take a few ms instead of up to 100 ms, which would
    # otherwise land on a task's wake-up now and then and make a timing one unit late.
    gc.collect()
    gc.freeze()


@contextlib.contextmanager
def caught_warnings(category: type[Warning] = Warning) -> Iterator[list[str]]:
    """Show the warnings raised in the block as ``Category: message`` lines, in this cell.

    Garbage is collected at the end of the block, so a warning that fires when an object dies
    (a coroutine never awaited, a task destroyed while pending) is shown here and not in
    whichever cell happens to run next.  A warning's usual text names the cell's temporary file,
    which differs on every run.
    """
    lines: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", category)
        try:
            yield lines
        finally:
            gc.collect()
            for w in caught:
                lines.append(f"{w.category.__name__}: {w.message}")
    for line in lines:
        print(line)


@contextlib.contextmanager
def caught_log(name: str = "asyncio") -> Iterator[list[logging.LogRecord]]:
    """Keep what the logger ``name`` emits in the block, from any thread, as a list of records.

    Nothing reaches stderr meanwhile (in a notebook it would show in red, mixed into the cell's
    own output), so the cell prints the lines it wants after the block.  The logger's
    level is not changed: asyncio's DEBUG lines stay off unless you lower it.  Garbage is
    collected at the end of the block, as in ``caught_warnings``, so a message sent when an
    object dies belongs to this cell.
    """
    if not isinstance(name, str):
        raise TypeError(f"caught_log() takes a logger name, such as 'asyncio', not {name!r}")
    logger = logging.getLogger(name)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield records
    finally:
        gc.collect()
        logger.removeHandler(handler)
        logger.propagate = propagate


def our_tasks(tasks=None) -> list:
    """The tasks of ``asyncio.all_tasks()`` that are not the kernel's own (nor the current one).

    In a notebook, ``asyncio.all_tasks()`` also lists the tasks with which the kernel talks to
    JupyterLab: cancelling those stops the kernel from answering.  We keep the tasks whose
    coroutine was defined outside the kernel's packages.
    """
    import asyncio

    current = asyncio.current_task()
    found = []
    for task in tasks if tasks is not None else asyncio.all_tasks():
        if task is current:
            continue
        filename = getattr(getattr(task.get_coro(), "cr_code", None), "co_filename", "")
        # Whole path components only: a cell's own code lives in /tmp/ipykernel_<pid>/...
        if _KERNEL_PACKAGES.search(filename):
            continue
        found.append(task)
    return found


_KERNEL_PACKAGES = re.compile(r"[\\/](ipykernel|jupyter_client|jupyter_server|tornado|zmq|"
                              r"anyio|IPython)[\\/]")


def enable_figure_display() -> None:
    """Make a matplotlib Figure, returned or displayed in a notebook, show as a picture.

    Figures made with ``matplotlib.figure.Figure`` (never pyplot, whose global list of figures
    would keep them all alive and show each one a second time at the end of the cell) only show
    as a picture once IPython has a PNG formatter for them: this registers it, once.  Outside
    IPython it does nothing.
    """
    shell_module = sys.modules.get("IPython")
    shell = shell_module.get_ipython() if shell_module is not None else None
    if shell is None or getattr(shell, "_aiocourse_png", False):
        return
    from IPython.core.pylabtools import select_figure_formats

    select_figure_formats(shell, {"png"})
    shell._aiocourse_png = True


def display_or_return(fig):
    """In a notebook, display ``fig`` and return None; elsewhere return it.

    Returning None keeps figures out of IPython's ``Out`` history: each keeps thousands of
    objects alive, and the garbage collector's pauses grow with them.
    """
    shell_module = sys.modules.get("IPython")
    if shell_module is not None and shell_module.get_ipython() is not None:
        from IPython.display import display

        display(fig)
        return None
    return fig
