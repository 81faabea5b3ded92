"""Run a script as a service in a child process, and be its supervisor: send it real signals.

    async with Service(SOURCE, files={"service.json": '{"version": 1}'}) as service:
        await service.wait_for("serving")          # a line of its output
        service.send(signal.SIGTERM)               # os.kill(service.pid, SIGTERM), as systemd does
    print(service.transcript)                      # what it printed, what we did, how it ended

The script runs as ``python -u script.py`` in a fresh temporary folder (``files`` are written
there first; ``write()`` changes one while it runs), in a session of its own, so a Ctrl+C meant
for the notebook never reaches it; ``feed(line)`` writes a line to its stdin.  What the
supervisor does appears in the transcript where it did it: ``[sent SIGTERM]``,
``[wrote service.json]``, ``[stdin: job a]``.  The child never outlives the block: at its
end the supervisor waits for the child to exit until ``timeout`` seconds after the start, kills
it if it is still running (at once if the block raised), and removes the folder.

A script that records its tasks (``async with Timeline() as tl:``) and calls
``save_timeline(tl)`` leaves them for the notebook: ``service.timeline.show(unit=...)`` prints
the checked table and draws the figure, as for a Timeline recorded in a cell.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from .scripts import ScriptRun, _sanitize
from .timeline import Span, Timeline

__all__ = ["Service", "save_timeline", "TIMELINE_FILE"]

TIMELINE_FILE = "timeline.json"  # what save_timeline() writes, in the script's folder


def save_timeline(tl: Timeline, path: str = TIMELINE_FILE) -> None:
    """Write a finished Timeline's rows to ``path`` (in the script: for the notebook's figure)."""
    if not isinstance(tl, Timeline):
        raise TypeError(f"save_timeline() takes a finished Timeline, not {type(tl).__name__}")
    rows = [dataclasses.asdict(span) for span in tl.spans]  # raises if still recording
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"duration": tl.duration, "spans": rows}, f)


def _load_timeline(path: Path) -> Timeline:
    data = json.loads(path.read_text(encoding="utf-8"))
    spans = []
    for row in data["spans"]:
        row["slices"] = tuple(tuple(s) for s in row["slices"])
        row["ready"] = tuple(row["ready"])
        row["waits"] = tuple(row["waits"])
        row["marks"] = tuple(tuple(m) for m in row["marks"])
        spans.append(Span(**row))
    return Timeline.from_spans(spans, float(data["duration"]))


def _default_sigint() -> None:
    # Runs in the child between fork and exec: a shell's background job starts with SIGINT
    # ignored, and an ignored signal would stay ignored in the service (see scripts.py).
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Service:
    """A script running as a service in a child process; see the module docstring."""

    def __init__(self, source: str, *, files: dict[str, str] | None = None,
                 timeout: float = 10.0, env: dict[str, str] | None = None) -> None:
        if not isinstance(source, str):
            raise TypeError(f"source must be the script's text (a str), not "
                            f"{type(source).__name__}")
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        for name in files or {}:
            self._check_name(name)
        self._source = textwrap.dedent(source).lstrip("\n")
        self._files = dict(files or {})
        self._timeout = timeout
        self._env = dict(env or {})
        self._folder: str | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None
        self._lines: list[str] = []
        self._marks: set[int] = set()  # indexes of the lines that say what the supervisor did
        self._cursor = 0  # wait_for() looks at the lines from here on
        self._changed = asyncio.Event()
        self._deadline = 0.0
        self._sent = False
        self._timed_out = False
        self._transcript: ScriptRun | None = None
        self._timeline: Timeline | None = None

    def __repr__(self) -> str:
        if self._proc is None:
            return "<Service not started>"
        if self._transcript is None:
            return "<Service running>"
        return f"<Service: {self._transcript.status}>"

    @staticmethod
    def _check_name(name: str) -> None:
        if not isinstance(name, str) or not name or os.sep in name or name.startswith("."):
            raise ValueError(f"a file of the service is a plain name in its folder, such as "
                             f"'service.json', not {name!r}")

    # --- the block ---------------------------------------------------------------------------

    async def __aenter__(self) -> Service:
        if self._proc is not None:
            raise RuntimeError(f"{self!r} was already started: create a new Service")
        self._folder = tempfile.mkdtemp(prefix="aiocourse-")
        try:
            Path(self._folder, "script.py").write_text(self._source, encoding="utf-8")
            for name, text in self._files.items():
                Path(self._folder, name).write_text(text, encoding="utf-8")
            env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8",
                       PYTHON_COLORS="0", NO_COLOR="1")
            for name in ("PYTHONASYNCIODEBUG", "FORCE_COLOR"):
                env.pop(name, None)
            env.update(self._env)
            ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-u", "script.py", cwd=self._folder, env=env,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, start_new_session=True,
                preexec_fn=_default_sigint if ignored else None)
        except BaseException:
            shutil.rmtree(self._folder, ignore_errors=True)
            raise
        self._deadline = time.monotonic() + self._timeout
        self._reader = asyncio.create_task(self._read(), name="service output")
        return self

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        while raw := await self._proc.stdout.readline():
            self._lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
            self._changed.set()
        self._changed.set()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        proc = self._proc
        assert proc is not None and self._folder is not None
        try:
            if exc_type is not None:  # the block failed: nothing more to wait for
                self._kill()
            else:
                try:
                    await asyncio.wait_for(asyncio.shield(proc.wait()),
                                           max(0.0, self._deadline - time.monotonic()))
                except TimeoutError:
                    self._timed_out = True
                    self._kill()
            # Shielded: a cancellation of the block must not leave the child unreaped.
            await asyncio.shield(proc.wait())
            if self._reader is not None:  # its output ends with it (unless a child keeps it)
                await asyncio.wait([self._reader], timeout=5)
                self._reader.cancel()
                await asyncio.wait([self._reader])
            path = Path(self._folder, TIMELINE_FILE)
            if path.exists():
                self._timeline = _load_timeline(path)
        finally:
            self._kill()
            if proc.stdin is not None:
                proc.stdin.close()
            if proc.returncode is None:
                await asyncio.shield(proc.wait())
            transport = getattr(proc, "_transport", None)
            if transport is not None:  # close the pipes now, not when the object is collected
                transport.close()
            shutil.rmtree(self._folder, ignore_errors=True)
            output = _sanitize("\n".join(self._lines) + "\n", self._folder)
            self._transcript = ScriptRun(output, proc.returncode if proc.returncode is not None
                                         else -signal.SIGKILL, self._sent, self._timed_out)

    def _kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()

    # --- what a supervisor does ----------------------------------------------------------------

    def _mark(self, line: str) -> None:
        self._marks.add(len(self._lines))
        self._lines.append(line)

    def _running(self, doing: str) -> asyncio.subprocess.Process:
        if self._proc is None:
            raise RuntimeError(f"cannot {doing}: the service was not started (use `async with "
                               "Service(...) as service:`)")
        if self._transcript is not None:
            raise RuntimeError(f"cannot {doing}: the `async with` block of this service has ended")
        return self._proc

    @property
    def pid(self) -> int:
        """The process id of the service (what `kill <pid>` takes)."""
        return self._running("read its pid").pid

    @property
    def output(self) -> str:
        """What the service has printed so far (paths of this machine taken out)."""
        text = "\n".join(self._lines)
        return _sanitize(text, self._folder) if self._folder else text

    def send(self, sig: signal.Signals) -> None:
        """Send a real signal to the service: ``os.kill(service.pid, sig)``, marked in the
        transcript as ``[sent SIGTERM]``."""
        if not isinstance(sig, int) or isinstance(sig, bool):
            raise TypeError(f"send() takes a signal such as signal.SIGTERM, not {sig!r}")
        proc = self._running(f"send {sig!r}")
        if proc.returncode is not None:
            raise RuntimeError(f"cannot send {signal.Signals(sig).name}: the service has "
                               f"already ended\n{self.output}")
        self._mark(f"[sent {signal.Signals(sig).name}]")
        self._sent = True
        os.kill(proc.pid, sig)

    def write(self, name: str, text: str) -> None:
        """Replace the file ``name`` in the service's folder (a new configuration, say)."""
        self._check_name(name)
        if not isinstance(text, str):
            raise TypeError(f"write() takes the file's text, not {type(text).__name__}")
        self._running(f"write {name}")
        # Written under another name, then renamed: the service never reads half a file.
        part = Path(self._folder, f".{name}.part")
        part.write_text(text, encoding="utf-8")
        part.replace(Path(self._folder, name))
        self._mark(f"[wrote {name}]")

    def feed(self, line: str) -> None:
        """Write ``line`` and a newline to the service's stdin (a request, say)."""
        if not isinstance(line, str) or "\n" in line:
            raise TypeError(f"feed() takes one line of text, without its newline, not {line!r}")
        proc = self._running(f"feed {line!r}")
        assert proc.stdin is not None
        self._mark(f"[stdin: {line}]")
        proc.stdin.write(line.encode("utf-8") + b"\n")

    async def wait_for(self, text: str, timeout: float = 5.0) -> str:
        """Wait until the service prints a line containing ``text`` (after the line the last
        wait_for() found), and return that line."""
        if not isinstance(text, str) or not text:
            raise TypeError(f"wait_for() takes a piece of a line to wait for, not {text!r}")
        proc = self._running(f"wait for {text!r}")
        deadline = time.monotonic() + timeout
        while True:
            for i in range(self._cursor, len(self._lines)):
                if text in self._lines[i] and i not in self._marks:
                    self._cursor = i + 1
                    return self._lines[i]
            if self._reader is not None and self._reader.done():  # its output has ended
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(proc.wait()), 1)
                how = (ScriptRun("", proc.returncode, False, False).status
                       if proc.returncode is not None else "its output closed")
                raise RuntimeError(f"the service ended ({how}) without printing {text!r}; "
                                   f"it printed:\n{self.output}")
            self._changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the service did not print {text!r} within {timeout:g} s; "
                                   f"it printed:\n{self.output}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def wait(self, timeout: float | None = None) -> int:
        """Wait until the service exits and return its exit status (negative: the signal that
        ended it).  TimeoutError after ``timeout`` seconds, or at the service's time limit."""
        proc = self._running("wait for it")
        left = max(0.0, self._deadline - time.monotonic())
        limit = left if timeout is None else min(timeout, left)
        try:
            return await asyncio.wait_for(asyncio.shield(proc.wait()), limit)
        except TimeoutError:
            raise TimeoutError(f"the service was still running after {limit:.1f} s; it "
                               f"printed:\n{self.output}") from None

    async def terminate(self, grace: float) -> int:
        """Stop it as systemd, Docker and Kubernetes do: SIGTERM, then SIGKILL if it is still
        running ``grace`` seconds later.  Returns its exit status."""
        if not grace >= 0:
            raise ValueError(f"grace must be a number of seconds >= 0, not {grace!r}")
        proc = self._running("terminate it")
        self.send(signal.SIGTERM)
        try:
            return await asyncio.wait_for(asyncio.shield(proc.wait()), grace)
        except TimeoutError:
            if proc.returncode is None:
                self._mark("[sent SIGKILL]")
                self._kill()
            return await proc.wait()

    # --- after the block -------------------------------------------------------------------

    @property
    def transcript(self) -> ScriptRun:
        """What it printed and what the supervisor did, in order, then how it ended."""
        if self._transcript is None:
            raise RuntimeError("the transcript is ready when the `async with` block has ended")
        return self._transcript

    @property
    def timeline(self) -> Timeline:
        """The Timeline the script saved with ``save_timeline(tl)``."""
        if self._transcript is None:
            raise RuntimeError("the timeline is ready when the `async with` block has ended")
        if self._timeline is None:
            raise RuntimeError("the service saved no timeline: record its tasks with "
                               "`async with Timeline() as tl:` and call save_timeline(tl)")
        return self._timeline

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self._transcript) if self._transcript is not None else repr(self))
