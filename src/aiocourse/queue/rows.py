"""Rows of a Timeline that are about the queue, not redis-py's own tasks.

redis.asyncio runs parts of its work as tasks of its own: a pipeline releases its connection in
a shielded task, closing a client gathers the disconnects, and on Python 3.11 every command
with a ``socket_timeout`` is sent through ``asyncio.wait_for``, which wraps it in a task (3.12
awaits it directly).  A Timeline records all of them, so their number depends on the Python
version and on timing: lessons keep their own rows with ``Timeline.only``.  ``only(tl, keep)``
is kept as the spelling notebook 14 uses.
"""

from __future__ import annotations

from collections.abc import Callable

from ..timeline import Span, Timeline

__all__ = ["only"]


def only(tl: Timeline, keep: Callable[[Span], bool]) -> Timeline:
    """``tl.only(keep)``: a finished Timeline with the spans for which ``keep(span)`` is true."""
    return tl.only(keep)
