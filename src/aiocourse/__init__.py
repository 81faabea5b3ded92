"""Helpers for the asyncio course notebooks.

    from aiocourse import Timeline
    async with Timeline() as tl:
        ...
    tl.show(unit=0.1)
"""

from .timeline import Span, Timeline, round_late

__all__ = ["Span", "Timeline", "round_late"]
__version__ = "0.1.0"
