"""Views of a Loop X-ray: a strip of iterations (a figure) and an explorer (ipywidgets).

    fig = plot_iterations(xr.iterations[:8], unit=0.05)   # usually xr.plot() / xr.show()
    explorer(xr.iterations, unit=0.05)                    # usually xr.explore()

The strip has one column per iteration: what the selector was asked and what woke it at the
top, then the callbacks the loop ran, in order, coloured by kind.  The explorer shows one
iteration at a time, with everything recorded: how long the selector really waited, the timers
in the heap, the queue as the loop took it, each callback's running time.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Patch

from .notebook import enable_figure_display
from .timeline import round_late
from .xray import _plural

__all__ = ["plot_iterations", "explorer", "KIND_COLORS"]

KIND_COLORS = {  # kind of a step -> colour, legend text
    "task": ("#1f5fa8", "a task step (resumes a coroutine)"),
    "timer": ("#e07b00", "a timer that fell due"),
    "io": ("#2e8b57", "I/O: a socket was ready"),
    "threadsafe": ("#8a4fb8", "handed over by another thread"),
    "callback": ("#777777", "another callback"),
}
COLUMNS = 6
STEPS_SHOWN = 7


def _asked(it, unit: float) -> str:
    if it.asked == 0:
        return "no wait (a timer was due)" if it.overdue else "no wait"
    if it.asked is None:
        return "wait for I/O"
    n = round(it.asked / unit, 1)
    return f"wait ≤ {_plural(n, 'unit')}"


def plot_iterations(iterations: Sequence, unit: float = 1.0, title: str | None = None) -> Figure:
    """A Figure with a column per iteration (COLUMNS per row of the strip)."""
    if not unit > 0:
        raise ValueError(f"unit must be a positive number of seconds, not {unit!r}")
    enable_figure_display()
    n = max(len(iterations), 1)
    strips = (n + COLUMNS - 1) // COLUMNS
    tallest = max([min(len(it.steps), STEPS_SHOWN + 1) for it in iterations] or [1])
    strip_height = tallest + 2.6
    fig = Figure(figsize=(8, min(1.2 + 0.42 * strip_height * strips, 9)), dpi=80,
                 layout="constrained")
    ax = fig.add_subplot()
    ax.set_axis_off()
    kinds = set()
    for k, it in enumerate(iterations):
        col, strip = k % COLUMNS, k // COLUMNS
        x, top = col * 1.0, -strip * strip_height
        ax.text(x + 0.45, top - 0.2, f"iteration {k + 1}", ha="center", va="top",
                fontsize=8, fontweight="bold")
        ax.text(x + 0.45, top - 0.75, _asked(it, unit), ha="center", va="top", fontsize=7,
                color="#444444")
        woke = "" if it.asked == 0 else "woken by " + it.woke
        woke = woke if len(woke) <= 24 else woke[:23] + "…"
        ax.text(x + 0.45, top - 1.2, woke, ha="center", va="top", fontsize=6.5,
                color="#444444", style="italic")
        steps = list(it.steps)
        shown = steps[:STEPS_SHOWN]
        for j, step in enumerate(shown):
            colour = _colour(step.kind)
            kinds.add(step.kind)
            y = top - 1.9 - j
            ax.add_patch(FancyBboxPatch((x + 0.03, y - 0.78), 0.84, 0.7,
                                        boxstyle="round,pad=0.01", facecolor=colour,
                                        edgecolor="none", alpha=0.9))
            label = step.what if len(step.what) <= 24 else step.what[:23] + "…"
            held = round_late((step.end - step.start) / unit)
            if held >= 2:  # it held the thread: the loop could do nothing else meanwhile
                label += f"\n(held the thread {_plural(held, 'unit')})"
            ax.text(x + 0.45, y - 0.43, label, ha="center", va="center", fontsize=6.5,
                    color="white")
        if len(steps) > STEPS_SHOWN:
            ax.text(x + 0.45, top - 1.9 - STEPS_SHOWN - 0.4,
                    f"… {len(steps) - STEPS_SHOWN} more", ha="center", va="center",
                    fontsize=6.5)
        if not steps:
            ax.text(x + 0.45, top - 2.3, "(ran none of ours)", ha="center", fontsize=6.5)
    ax.set_xlim(-0.05, COLUMNS * 1.0)
    ax.set_ylim(-strips * strip_height, 0.1)
    if title:
        ax.set_title(title)
    handles = [Patch(color=KIND_COLORS[k][0], label=KIND_COLORS[k][1])
               for k in KIND_COLORS if k in kinds]
    if handles:
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, -0.06), ncol=3,
                  fontsize=7, frameon=False)
    return fig


def _colour(kind: str) -> str:
    return KIND_COLORS.get(kind, KIND_COLORS["callback"])[0]


def _duration(seconds: float, unit: float) -> str:
    # Units where they say something; a step of a fraction of a millisecond in ms alone.
    n = seconds / unit
    if n < 0.01:
        return f"{seconds * 1000:.1f} ms"
    return f"{n:.2f} units ({seconds * 1000:.1f} ms)"


WORDS = ("<b>selector</b>: the part of the loop that waits for sockets, with a timeout set by "
         "the next timer; <b>heap</b>: the loop's timers, soonest first; <b>ours</b>: started "
         "by the code inside the X-ray's block; <b>the kernel's</b>: Jupyter's own callbacks "
         "on the same loop.")


def _page(it, k: int, total: int, unit: float) -> str:
    def u(seconds: float) -> str:
        return html.escape(_duration(seconds, unit))

    if it.asked == 0:
        asked = ("not to wait: a timer was already due" if it.overdue else
                 "not to wait: callbacks were ready")
    elif it.asked is None:
        asked = "to wait for I/O as long as it takes (no timer in the heap)"
    else:
        asked = f"to wait at most {u(it.asked)}, until the next timer is due"
    if it.asked == 0:
        waited = "."
    else:
        woke = ("its timeout ran out: the timer fell due" if it.woke == "a timer" else
                html.escape(it.woke))
        waited = f"; it waited {u(it.waited)}, and what ended the wait: <i>{woke}</i>."
        if it.asked and it.woke == "a timer" and it.waited > it.asked * 1.05:
            waited += (" (Longer than asked: the operating system woke the loop late, as a "
                       "busy machine does.)")
    legend = " ".join(f"<span style='color:{colour}'>■</span> {html.escape(text)}"
                      for kind, (colour, text) in KIND_COLORS.items()
                      if any(s.kind == kind for s in it.steps))
    hidden = it.queued - len(it.queue)
    rows = [f"<h4 style='margin:0 0 4px 0'>Iteration {k} of {total}, "
            f"{it.began / unit:.2f} units after the X-ray began</h4>",
            "<b>1. The selector</b> was asked " + asked + waited,
            "<b>2. Timers in the heap</b> (ours) at the selector: " +
            (", ".join(f"{html.escape(what)}, due in {u(due)}" for due, what in it.timers)
             or "none") + ".",
            f"<b>3. The queue the loop took</b> ({_plural(it.queued, 'callback')}"
            + (f", {hidden} of them the kernel's or asyncio's own, not shown" if hidden else "")
            + "): " + (" → ".join(html.escape(q) for q in it.queue) or "none of ours") + ".",
            "<b>4. What it ran</b>, in order:<ol style='margin:2px 0'>" +
            "".join(f"<li><span style='color:{_colour(s.kind)}'>■</span> "
                    f"{html.escape(s.what)}: ran {u(s.end - s.start)}"
                    + (f" — a step of task <code>{html.escape(s.task)}</code>" if s.task else "")
                    + "</li>" for s in it.steps) + "</ol>"
            + (f"and {_plural(it.others, 'callback')} of the kernel's own."
               if it.others else ""),
            (legend + "<br>" if legend else "") +
            f"<span style='color:#555;font-size:12px'>{WORDS}</span>"]
    return "<div style='font-size:13px;line-height:1.5'>" + "<br>".join(rows) + "</div>"


def explorer(iterations: Sequence, unit: float = 1.0):
    """Previous and next buttons, a slider and a play button over the iterations, and the
    page of the one selected.  Needs ipywidgets (in the course's requirements)."""
    import ipywidgets as widgets

    if not unit > 0:
        raise ValueError(f"unit must be a positive number of seconds, not {unit!r}")
    if not iterations:
        raise ValueError("nothing to explore: the X-ray recorded no iteration of your code")
    total = len(iterations)
    pages = [_page(it, k, total, unit) for k, it in enumerate(iterations, 1)]
    # A fixed height, so that the notebook below does not jump as pages of different lengths
    # are shown; a long page scrolls.
    page = widgets.HTML(pages[0], layout=widgets.Layout(height="24em", overflow="auto"))
    slider = widgets.IntSlider(value=1, min=1, max=total, description="iteration",
                               tooltip="the iteration shown (drag, or click and use ← →)",
                               continuous_update=True)
    back = widgets.Button(description="◀ previous", tooltip="the iteration before",
                          layout=widgets.Layout(width="auto"))
    forward = widgets.Button(description="next ▶", tooltip="the iteration after",
                             layout=widgets.Layout(width="auto"))
    play = widgets.Play(value=1, min=1, max=total, interval=1500, show_repeat=False,
                        tooltip="▶ play on from here, an iteration every 1.5 s; ■ back to 1")
    widgets.jslink((play, "value"), (slider, "value"))

    def show(change) -> None:
        page.value = pages[change["new"] - 1]
        back.disabled, forward.disabled = change["new"] == 1, change["new"] == total

    def step(by: int) -> None:
        slider.value = min(max(slider.value + by, 1), total)

    back.on_click(lambda _: step(-1))
    forward.on_click(lambda _: step(1))
    slider.observe(show, "value")
    show({"new": 1})

    class Explorer(widgets.VBox):
        def __repr__(self) -> str:  # what a notebook stores as text: the same every run
            return f"<X-ray explorer: {total} iterations>"

    return Explorer([widgets.HBox([back, forward, slider, play]), page])
