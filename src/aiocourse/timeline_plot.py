"""Draw recorded spans as a timeline: one row per task, run slices solid, waiting time light.

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
WAIT_COLOR = "#c9daf0"
EXECUTOR_COLOR = "#2e8b57"
CALLBACK_COLOR = "#8a4fb8"
MARKERS = {  # state: (marker, color, legend text)
    "cancelled": ("x", "#e07b00", "cancelled"),
    "error": ("X", "#c62828", "raised an exception"),
    "pending": (">", "#555555", "unfinished at the end"),
    "destroyed": ("D", "#555555", "destroyed while pending"),
}
MAX_LABELLED_ROWS = 40


def plot_spans(spans: Sequence, duration: float, title: str | None = None,
               unit: float = 1.0) -> Figure:
    """Return a Figure of ``spans`` (rows from the top in the given order) over ``duration`` s."""
    if not unit > 0:
        raise ValueError(f"unit must be a positive number of seconds, not {unit!r}")
    enable_figure_display()
    n = len(spans)
    height = min(1.9 + 0.32 * max(n, 1), 8.0)
    fig = Figure(figsize=(8, height), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    end_all = duration / unit

    wait_verts, run_verts, run_colors, marks = [], [], [], {k: [] for k in MARKERS}
    half = 0.34
    for row, s in enumerate(spans):
        y = n - 1 - row
        first = s.created / unit
        last = (s.end if s.end is not None else duration) / unit
        wait_verts.append(((first, y - half / 2), (first, y + half / 2),
                           (last, y + half / 2), (last, y - half / 2)))
        color = {"executor": EXECUTOR_COLOR, "callback": CALLBACK_COLOR}.get(s.kind, RUN_COLOR)
        for a, b in s.slices:
            a, b = a / unit, b / unit
            run_verts.append(((a, y - half), (a, y + half), (b, y + half), (b, y - half)))
            run_colors.append(color)
        if s.state in marks:
            marks[s.state].append((last, y))

    if wait_verts:
        ax.add_collection(PolyCollection(np.asarray(wait_verts), facecolors=WAIT_COLOR,
                                         edgecolors="none"))
    if run_verts:
        # A 1-point edge keeps microsecond slices visible as thin lines.
        ax.add_collection(PolyCollection(np.asarray(run_verts), facecolors=run_colors,
                                         edgecolors=run_colors, linewidths=0.8))
    handles = [Patch(color=RUN_COLOR, label="running (holds the thread)"),
               Patch(color=WAIT_COLOR, label="waiting (created, not finished)")]
    kinds = {s.kind for s in spans}
    if "executor" in kinds:
        handles.append(Patch(color=EXECUTOR_COLOR, label="executor / to_thread call"))
    if "callback" in kinds:
        handles.append(Patch(color=CALLBACK_COLOR, label="call_soon_threadsafe callback"))
    for state, points in marks.items():
        if points:
            marker, color, text = MARKERS[state]
            xy = np.asarray(points)
            ax.scatter(xy[:, 0], xy[:, 1], marker=marker, color=color, s=60, zorder=3)
            handles.append(Line2D([], [], marker=marker, color=color, linestyle="none",
                                  label=text))

    _thread_groups(ax, spans, n)
    if n <= MAX_LABELLED_ROWS:
        ax.set_yticks(range(n))
        ax.set_yticklabels([s.name for s in reversed(spans)])
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{n:,} rows")
    ax.set_ylim(-0.7, max(n, 1) - 0.3)
    ax.set_xlim(0, max(end_all, 1e-9) * 1.02)
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
