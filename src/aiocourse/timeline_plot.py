"""Draw recorded spans as a timeline: one row per task, run slices solid, waiting time light
(coloured by what it waited for: a timer, task or I/O; a lock or queue; the loop, when ready).

    fig = plot_spans(tl.spans, tl.duration)   # usually called as tl.plot()

All rectangles of a figure are drawn as one PolyCollection and all markers as one scatter, so a
plot of 10,000 tasks takes about as long as a plot of ten (no matplotlib artist per task).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .notebook import enable_figure_display

__all__ = ["plot_spans"]

RUN_COLOR = "#1f5fa8"
WAIT_COLOR = "#c9daf0"      # suspended: a timer, another task, I/O
SYNC_COLOR = "#f5d9a8"      # suspended on a Lock, Event, Condition, Semaphore, Barrier or Queue
READY_COLOR = "#e4e4e4"     # ready to run, waiting for the loop to get to it
EXECUTOR_COLOR = "#2e8b57"
CALLBACK_COLOR = "#8a4fb8"
WAIT_STYLES = {  # the kind of a wait (Span.waits) -> colour and legend text
    "sleep": (WAIT_COLOR, "waiting (a timer, another task, I/O)"),
    "task": (WAIT_COLOR, "waiting (a timer, another task, I/O)"),
    "other": (WAIT_COLOR, "waiting (a timer, another task, I/O)"),
    "sync": (SYNC_COLOR, "waiting for a lock, event, semaphore or queue"),
    "queue": (SYNC_COLOR, "waiting for a lock, event, semaphore or queue"),
}
MARKERS = {  # state or mark: (marker, color, size, legend text)
    "cancelled": ("x", "#e07b00", 70, "cancelled"),
    "error": ("*", "#c62828", 130, "raised an exception"),
    "pending": (">", "#555555", 60, "unfinished at the end"),
    "destroyed": ("D", "#555555", 45, "destroyed while pending"),
    "cancel requested": ("v", "#e07b00", 45, "cancel requested"),
    "exception thrown in": ("^", "#c62828", 45, "resumed by an exception"),
    "timer due": ("|", "#222222", 120, "a sleep was due (it ran late)"),
}
MAX_LABELLED_ROWS = 40


def plot_spans(spans: Sequence, duration: float, title: str | None = None,
               unit: float = 1.0, xmax: float | None = None) -> Figure:
    """Return a Figure of ``spans`` (rows from the top in the given order) over ``duration`` s.

    ``xmax`` (in units) fixes the right end of the x axis, for figures meant to be compared.
    """
    if not unit > 0:
        raise ValueError(f"unit must be a positive number of seconds, not {unit!r}")
    if xmax is not None and not xmax > 0:
        raise ValueError(f"xmax is the right end of the x axis in units, > 0, not {xmax!r}")
    enable_figure_display()
    n = len(spans)
    height = min(1.9 + 0.32 * max(n, 1), 8.0)
    fig = Figure(figsize=(8, height), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    end_all = duration / unit

    bars: dict[str, list] = {}  # colour -> thin bars (waiting of some kind)
    legend_waits: dict[str, str] = {}  # legend text -> colour, in the order met
    run_verts, run_colors = [], []
    marks: dict[str, list] = {k: [] for k in MARKERS}
    half = 0.34

    def thin(colour: str, text: str, x0: float, x1: float, y: float) -> None:
        if x1 > x0:
            bars.setdefault(colour, []).append(((x0, y - half / 2), (x0, y + half / 2),
                                                (x1, y + half / 2), (x1, y - half / 2)))
            legend_waits.setdefault(text, colour)

    for row, s in enumerate(spans):
        y = n - 1 - row
        first = s.created / unit
        last = (s.end if s.end is not None else duration) / unit
        if s.kind in ("task", "caller") and s.ready:
            # created -> ready -> running -> waiting (of its kind) -> ready -> running ...
            previous, wait = first, "other"
            for k, ((a, b), ready) in enumerate(zip(s.slices, s.ready, strict=False)):
                a, b, ready = a / unit, b / unit, max(ready / unit, previous)
                style = WAIT_STYLES.get(wait, WAIT_STYLES["other"])
                thin(style[0], style[1], previous, min(ready, a), y)
                thin(READY_COLOR, "ready, waiting for the loop", ready, a, y)
                previous = b
                wait = s.waits[k] if k < len(s.waits) else "other"
            style = WAIT_STYLES.get(wait, WAIT_STYLES["other"])
            thin(style[0], style[1], previous, last, y)
        else:
            thin(WAIT_COLOR, "waiting (a timer, another task, I/O)", first, last, y)
        color = {"executor": EXECUTOR_COLOR, "callback": CALLBACK_COLOR}.get(s.kind, RUN_COLOR)
        for a, b in s.slices:
            a, b = a / unit, b / unit
            run_verts.append(((a, y - half), (a, y + half), (b, y + half), (b, y - half)))
            run_colors.append(color)
        if s.state in marks:
            marks[s.state].append((last, y))
        starts = [a for a, _ in s.slices]
        for t, what in s.marks:
            if what == "timer due":
                # Only a late one is news: the slice it woke was more than a quarter unit late.
                later = [a for a in starts if a >= t]
                if not later or later[0] - t < 0.25 * unit:
                    continue
            marks[what].append((t / unit, y))

    for colour, verts in bars.items():
        ax.add_collection(PolyCollection(np.asarray(verts), facecolors=colour,
                                         edgecolors="none"))
    if run_verts:
        # A 1-point edge keeps microsecond slices visible as thin lines.
        ax.add_collection(PolyCollection(np.asarray(run_verts), facecolors=run_colors,
                                         edgecolors=run_colors, linewidths=0.8))
    handles = [Patch(color=RUN_COLOR, label="running (holds the thread)")]
    handles += [Patch(color=colour, label=text) for text, colour in legend_waits.items()]
    kinds = {s.kind for s in spans}
    if "executor" in kinds:
        handles.append(Patch(color=EXECUTOR_COLOR, label="executor / to_thread call"))
    if "callback" in kinds:
        handles.append(Patch(color=CALLBACK_COLOR, label="call_soon_threadsafe callback"))
    for what, points in marks.items():
        if points:
            marker, color, size, text = MARKERS[what]
            xy = np.asarray(points)
            ax.scatter(xy[:, 0], xy[:, 1], marker=marker, color=color, s=size, zorder=3,
                       clip_on=False)
            handles.append(Line2D([], [], marker=marker, color=color, linestyle="none",
                                  label=text))

    _thread_groups(ax, spans, n)
    if n <= MAX_LABELLED_ROWS:
        ax.set_yticks(range(n))
        labels = ax.set_yticklabels([s.name for s in reversed(spans)])
        for label, s in zip(labels, reversed(spans), strict=True):
            if s.kind == "caller":  # the code that waits for the others
                label.set_fontstyle("italic")
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{n:,} rows")
    ax.set_ylim(-0.7, max(n, 1) - 0.3)
    right = xmax if xmax is not None else max(end_all, 1e-9) * 1.02
    # A little room left of 0, so that a sliver at the start is not hidden under the axis.
    ax.set_xlim(-0.015 * right, right)
    ax.set_xlabel("seconds from the start" if unit == 1 else f"time in units of {unit:g} s")
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.22 * 2.5 / height),
              ncol=3, fontsize=8, frameon=False)
    return fig


def _thread_groups(ax, spans: Sequence, n: int) -> None:
    """Separate and label the rows of each thread when more than one thread appears."""
    threads = [s.thread for s in spans]
    if len(set(threads)) < 2:
        return
    start = 0
    for i in range(1, n + 1):
        if i == n or threads[i] != threads[start]:
            top, bottom = n - 1 - start, n - i
            if i < n:
                ax.axhline(bottom - 0.5, color="#888888", linewidth=0.8, linestyle="--")
            ax.text(1.01, (top + bottom) / 2, threads[start], transform=ax.get_yaxis_transform(),
                    ha="left", va="center", fontsize=8, color="#444444", rotation=0)
            start = i
