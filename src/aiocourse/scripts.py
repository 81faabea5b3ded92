"""Run a piece of code as a real Python script in a child process, optionally pressing Ctrl+C.

    run_script('''
        import asyncio
        async def main():
            await asyncio.sleep(10)
        asyncio.run(main())
    ''', interrupt_on="", interrupt_after=0.5)

The code is written to ``script.py`` in a fresh temporary folder and run with this Python
(``python -u``, so its output arrives in order).  With ``interrupt_on`` set, a real SIGINT is sent
``interrupt_after`` seconds after that text first appears in the output ("" means: after the
start); ``interrupt_on`` may also be a compiled pattern, searched in the output so far (e.g.
``re.compile(r"Waiting: *3")``).  The child never outlives the call: it is killed at
``timeout``, and the folder is removed.  Paths of this machine are replaced in the transcript so
that it reads the same everywhere.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass

__all__ = ["ScriptRun", "run_script", "trimmed"]


@dataclass(frozen=True)
class ScriptRun:
    """What a script printed (stdout and stderr, interleaved) and how it ended."""

    output: str
    returncode: int
    interrupted: bool
    timed_out: bool

    @property
    def status(self) -> str:
        if self.timed_out:
            return "killed: it was still running at the time limit"
        if self.returncode < 0:
            return f"ended by signal {signal.Signals(-self.returncode).name}"
        return f"exit code {self.returncode}"

    def __str__(self) -> str:
        return f"{self.output.rstrip()}\n[{self.status}]" if self.output.strip() else \
            f"[{self.status}]"

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the transcript
        printer.text(str(self))


def _sanitize(text: str, folder: str) -> str:
    text = text.replace(folder + os.sep, "").replace(folder, ".")
    stdlib = sysconfig.get_paths()["stdlib"]
    text = text.replace(stdlib + os.sep, "<stdlib>/")
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        text = text.replace(prefix + os.sep, "<python>/")
    return re.sub(r"\bat 0x[0-9a-fA-F]+", "at 0x…", text)


def _appears(marker: str | re.Pattern[str], output: str) -> bool:
    return marker in output if isinstance(marker, str) else marker.search(output) is not None


def _default_sigint() -> None:
    # Runs in the child between fork and exec: only the signal's disposition is changed.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_script(source: str, *, interrupt_on: str | re.Pattern[str] | None = None,
               interrupt_after: float = 0.0,
               timeout: float = 10.0, args: tuple[str, ...] = (),
               python: str | None = None, env: dict[str, str] | None = None) -> ScriptRun:
    """Run ``source`` as ``script.py`` in a child process and return its transcript."""
    if not isinstance(source, str):
        raise TypeError(f"source must be the script's text (a str), not {type(source).__name__}")
    if timeout <= 0 or interrupt_after < 0:
        raise ValueError("timeout must be > 0 and interrupt_after >= 0 (seconds)")
    if interrupt_on is not None and not isinstance(interrupt_on, str | re.Pattern):
        raise TypeError("interrupt_on is the text to wait for before Ctrl+C, e.g. 'Waiting', "
                        "or a compiled pattern, e.g. re.compile(r'Waiting: *3')")
    if isinstance(interrupt_on, re.Pattern) and not isinstance(interrupt_on.pattern, str):
        raise TypeError("interrupt_on must be a pattern of str (the output is text), not bytes")
    folder = tempfile.mkdtemp(prefix="aiocourse-")
    path = os.path.join(folder, "script.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(source).lstrip("\n"))
    # No colours: a kernel sets FORCE_COLOR, and 3.13 would colour the child's tracebacks.
    child_env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8",
                     PYTHON_COLORS="0", NO_COLOR="1")
    for name in ("PYTHONASYNCIODEBUG", "FORCE_COLOR"):
        child_env.pop(name, None)
    if env:
        child_env.update(env)
    chunks: list[str] = []
    seen = threading.Event()  # set when the marker appears, or when the output ends
    found: list[bool] = []    # non-empty once the marker really appeared
    # A shell starts a background job (`make test &`, `nohup ... &`) with SIGINT ignored, and an
    # ignored signal stays ignored in every child: then no Ctrl+C could reach the script.
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    proc = subprocess.Popen(
        [python or sys.executable, "-u", path, *args], cwd=folder, env=child_env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl+C meant for the notebook never reaches the child
        preexec_fn=_default_sigint if ignored else None,
    )

    def read() -> None:
        assert proc.stdout is not None
        for raw in iter(lambda: proc.stdout.readline(), b""):
            chunks.append(raw.decode("utf-8", "replace"))
            if interrupt_on is not None and not found and _appears(interrupt_on, "".join(chunks)):
                found.append(True)
                seen.set()
        seen.set()  # the output ended: stop waiting for a text that will never come

    reader = threading.Thread(target=read, name="run_script-reader", daemon=True)
    reader.start()
    interrupted = timed_out = False
    deadline = time.monotonic() + timeout
    try:
        if interrupt_on is not None:
            if interrupt_on == "":
                found.append(True)
                seen.set()
            seen.wait(max(0.0, deadline - time.monotonic()))
            if found and proc.poll() is None:
                time.sleep(interrupt_after)
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
                    interrupted = True
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        reader.join(5)
        if proc.stdout is not None:
            proc.stdout.close()
        shutil.rmtree(folder, ignore_errors=True)
    return ScriptRun(_sanitize("".join(chunks), folder), proc.returncode, interrupted, timed_out)


# --- transcripts that read the same on every Python ---------------------------------------

_TASK_REPR = re.compile(r"(coro=<[^>]*>) .*>$")
_TASK_NUMBER = re.compile(r"name='Task-\d+'")
_MARKS = re.compile(r"[\^~]+")
# A Jupyter kernel sets FORCE_COLOR=1 for the programs it starts, and Python 3.13 then colours
# its tracebacks: the escape sequences would hide "script.py" from the frame test below.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def trimmed(run: ScriptRun | str) -> str:
    """A script transcript without what changes between Python versions.

        print(trimmed(run_script(SOURCE, interrupt_on="Waiting", interrupt_after=0.1)))

    A traceback keeps its frames in ``script.py`` and its last line; the frames in the standard
    library become ``…`` (their line numbers change with each release), and the ``^^^`` / ``~~~``
    marker lines and colour codes go (3.13 draws more markers, and colours).  A task repr stops
    after its coroutine, and ``Task-12`` becomes ``Task-…`` (the rest names stdlib lines, and the
    order in which Python destroys pending tasks differs between versions).
    """
    out: list[str] = []
    in_traceback = skipping = False
    for line in _ANSI.sub("", str(run)).splitlines():
        if line.startswith("Traceback (most recent call last):"):
            in_traceback, skipping = True, False
            out.append(line)
            continue
        if in_traceback and line.startswith("  "):
            if line.startswith("  File "):
                skipping = not line.startswith('  File "script.py"')
                if not skipping:
                    out.append(line)
                elif out[-1] != "  …":
                    out.append("  …")
            elif not skipping and not _MARKS.fullmatch(line.strip()):
                out.append(line)
            continue
        in_traceback = False
        if line.startswith("task: <Task "):
            line = _TASK_NUMBER.sub("name='Task-…'", _TASK_REPR.sub(r"\1 …>", line))
        out.append(line)
    return "\n".join(out)
