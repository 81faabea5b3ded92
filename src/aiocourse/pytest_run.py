"""Run pytest for real on test files written from a notebook, in a child process of its own.

    run = run_pytest({"shop.py": SHOP, "test_shop.py": TESTS}, plugins=["asyncio"],
                     ini="asyncio_default_fixture_loop_scope = function")
    print(run)            # what pytest printed, then [exit code 1]
    run.outcomes          # {'passed': 2, 'failed': 1}

The files are written to a fresh temporary folder, which is also pytest's rootdir; pytest reads
the ``pytest.ini`` made there from ``ini`` and nothing of the course's own configuration, runs
with ``-q -p no:cacheprovider``, and loads only the plugins named, by the names they register
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``: the course's environment has nbval, xdist and others
installed, which a project of yours would not have).
The child is killed at ``timeout`` and the folder removed; paths and durations are taken out of
the transcript (and line numbers inside the standard library, which change between Pythons),
and the variables by which pytest knows it runs on CI are not passed on, so it reads the same
on every run, machine and Python, in CI or not.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["PytestRun", "run_pytest"]

_NAME = re.compile(r"[A-Za-z0-9_]+\.(py|ini|cfg|toml|txt)")
# pytest's last line: "2 failed, 1 passed, 1 warning in 0.05s" (or "no tests ran in 0.01s")
_OUTCOME = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|warnings?|deselected)")
_DURATION = re.compile(r" in \d+(\.\d+)?s( \([0-9:]+\))?")


@dataclass(frozen=True)
class PytestRun:
    """What pytest printed (stdout and stderr together) and its exit code."""

    output: str
    returncode: int
    timed_out: bool = False
    command: tuple[str, ...] = field(default=(), repr=False)

    @property
    def outcomes(self) -> dict[str, int]:
        """The counts of pytest's summary line: ``{'passed': 2, 'failed': 1}``."""
        lines = [line for line in self.output.splitlines() if line.strip()]
        if not lines:
            return {}
        counts: dict[str, int] = {}
        for number, word in _OUTCOME.findall(lines[-1].strip("= ")):
            word = {"error": "errors", "warning": "warnings"}.get(word, word)
            counts[word] = counts.get(word, 0) + int(number)
        return counts

    def __str__(self) -> str:
        status = ("killed: pytest was still running at the time limit" if self.timed_out
                  else f"exit code {self.returncode}")
        return f"{self.output.rstrip()}\n[{status}]"

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the transcript
        printer.text(str(self))


def _tidy(text: str, folder: str) -> str:
    text = text.replace(folder + os.sep, "").replace(folder, ".")
    paths = sysconfig.get_paths()
    for key, label in (("purelib", "<site-packages>"), ("platlib", "<site-packages>"),
                       ("stdlib", "<stdlib>")):
        text = text.replace(paths[key] + os.sep, label + "/")
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        text = text.replace(prefix + os.sep, "<python>/")
    text = re.sub(r"\bat 0x[0-9a-fA-F]+", "at 0x…", text)
    # Line numbers inside the standard library and installed packages change between versions.
    text = re.sub(r"(<stdlib>|<site-packages>|<python>)(/[^\s:'\"]+\.py):\d+", r"\1\2:…", text)
    lines = text.splitlines(keepends=True)
    if lines:  # only the summary line's duration: a test's own output may say " in 2s"
        last = max(i for i, line in enumerate(lines) if line.strip()) if text.strip() else 0
        lines[last] = _DURATION.sub("", lines[last])
    return "".join(lines)


def run_pytest(files: Mapping[str, str], *args: str, plugins: Sequence[str] = (),
               ini: str = "", timeout: float = 60.0) -> PytestRun:
    """Write ``files`` (name -> text) to a temporary folder and run pytest there, in a child."""
    if not isinstance(files, Mapping) or not files:
        raise TypeError("files must be a dict of file name -> text, e.g. "
                        "{'test_shop.py': TESTS}, with at least one file")
    for name, text in files.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a plain file name such as 'test_shop.py' "
                             "(no folders, no spaces)")
        if not isinstance(text, str):
            raise TypeError(f"the text of {name} must be a str, not {type(text).__name__}")
    if "pytest.ini" in files:
        raise ValueError("pass the ini file's settings as ini='...', not as a file: "
                         "run_pytest writes pytest.ini itself")
    if isinstance(plugins, str) or not all(isinstance(p, str) and p for p in plugins):
        raise TypeError("plugins is a list of plugin names, e.g. ['asyncio'], "
                        f"not {plugins!r}")
    if not all(isinstance(a, str) for a in args):
        raise TypeError(f"pytest's arguments must be strings, not {args!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    folder = tempfile.mkdtemp(prefix="aiocourse-pytest-")
    try:
        for name, text in files.items():
            with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
                f.write(textwrap.dedent(text).lstrip("\n"))
        with open(os.path.join(folder, "pytest.ini"), "w", encoding="utf-8") as f:
            f.write("[pytest]\n" + textwrap.dedent(ini).strip() + "\n")
        command = [sys.executable, "-m", "pytest", "-c", "pytest.ini", "--rootdir", ".",
                   "-q", "-p", "no:cacheprovider"]
        for plugin in plugins:
            command += ["-p", plugin]
        command += list(args)
        env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1",
                   PYTHONIOENCODING="utf-8", PYTHON_COLORS="0", NO_COLOR="1", COLUMNS="100")
        # CI and BUILD_NUMBER make pytest print every message in full (no trimming of the short
        # summary to the width, no truncated assertion diffs): a CI machine's transcript would
        # differ from a laptop's, so the child never sees them.
        for name in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONASYNCIODEBUG", "FORCE_COLOR",
                     "PY_COLORS", "PYTHONWARNINGS", "CI", "BUILD_NUMBER"):
            env.pop(name, None)
        try:
            done = subprocess.run(command, cwd=folder, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=timeout, check=False)
            output, code, timed_out = done.stdout, done.returncode, False
        except subprocess.TimeoutExpired as exc:  # subprocess.run has killed the child
            output, code, timed_out = exc.stdout or b"", -9, True
        text = output.decode("utf-8", "replace")
        shown = ["pytest", *command[3:]]
        return PytestRun(_tidy(text, folder), code, timed_out, tuple(shown))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
