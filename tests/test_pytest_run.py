"""aiocourse.pytest_run: pytest on files written from a notebook, in a child, tidied."""

from __future__ import annotations

import os
import tempfile

import pytest

from aiocourse.pytest_run import PytestRun, run_pytest

TESTS = """
def test_one():
    assert 1 + 1 == 2


def test_two():
    assert "a" == "b"
"""


def test_runs_pytest_and_counts_outcomes():
    run = run_pytest({"test_a.py": TESTS})
    assert run.returncode == 1
    assert run.outcomes == {"passed": 1, "failed": 1}
    assert run.output.rstrip().splitlines()[-1] == "1 failed, 1 passed"  # no duration
    assert str(run).endswith("[exit code 1]")
    assert "FAILED test_a.py::test_two" in run.output


def test_leaves_no_folder_and_no_path(monkeypatch):
    # The folder run_pytest made, not the whole temporary folder: other test processes make
    # and remove folders there at the same time.
    made = []
    mkdtemp = tempfile.mkdtemp

    def recorded(*args, **kwargs):
        made.append(mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", recorded)
    run = run_pytest({"test_a.py": "def test_x():\n    import os\n    assert os.getcwd() == ''\n"})
    assert made and not any(os.path.exists(folder) for folder in made)
    assert tempfile.gettempdir() + os.sep + "aiocourse-pytest-" not in run.output


def test_reads_the_same_on_a_ci_machine(monkeypatch):
    # pytest prints messages in full when CI or BUILD_NUMBER is set (CI machines set CI=true):
    # the child never sees them, so the stored transcript is what CI gets.
    failing = {"test_a.py": "def test_x():\n    raise RuntimeError('x' * 300 + '\\nsecond line')\n"}
    for name in ("CI", "BUILD_NUMBER"):
        monkeypatch.delenv(name, raising=False)
    laptop = run_pytest(failing).output
    summary = [line for line in laptop.splitlines() if line.startswith("FAILED")]
    assert len(summary) == 1 and summary[0].endswith("...") and len(summary[0]) <= 100, laptop
    for name in ("CI", "BUILD_NUMBER"):
        monkeypatch.setenv(name, "true")
        assert run_pytest(failing).output == laptop, name
        monkeypatch.delenv(name)


def test_ini_and_plugins_are_its_own():
    # The course's pyproject.toml asks for nbval and xdist; the child reads only its ini.
    run = run_pytest({"test_a.py": "import pytest\n\n@pytest.mark.slow\ndef test_x():\n    pass\n"},
                     "--strict-markers", ini="markers =\n    slow: a slow test")
    assert run.outcomes == {"passed": 1}, run.output
    unknown = run_pytest({"test_a.py": "def test_x():\n    pass\n"}, "-p", "nbval", "--nbval")
    assert unknown.returncode == 0  # a plugin named by -p is loaded: autoload alone is off
    missing = run_pytest({"test_a.py": "def test_x():\n    pass\n"}, "--nbval")
    assert missing.returncode == 4 and "unrecognized arguments: --nbval" in missing.output


def test_stdlib_line_numbers_are_hidden():
    run = run_pytest({"test_a.py": "import json\n\ndef test_x():\n    json.loads('{')\n"},
                     "--tb=line")
    assert "<stdlib>/json/decoder.py:…" in run.output


def test_a_hang_is_killed():
    run = run_pytest({"test_a.py": "import time\n\ndef test_x():\n    time.sleep(30)\n"},
                     timeout=2)
    assert run.timed_out and "killed" in str(run)


def test_no_tests():
    run = run_pytest({"helper.py": "X = 1\n"})
    assert run.returncode == 5 and run.outcomes == {}


@pytest.mark.parametrize("files, error", [
    ({}, TypeError),
    (["test_a.py"], TypeError),
    ({"../test_a.py": TESTS}, ValueError),
    ({"sub/test_a.py": TESTS}, ValueError),
    ({"test a.py": TESTS}, ValueError),
    ({"test_a.py": b"bytes"}, TypeError),
    ({"pytest.ini": "[pytest]"}, ValueError),
])
def test_bad_files(files, error):
    with pytest.raises(error):
        run_pytest(files)


def test_bad_arguments():
    with pytest.raises(TypeError, match="plugins"):
        run_pytest({"test_a.py": TESTS}, plugins="asyncio")
    with pytest.raises(TypeError, match="arguments"):
        run_pytest({"test_a.py": TESTS}, 3)
    with pytest.raises(ValueError, match="timeout"):
        run_pytest({"test_a.py": TESTS}, timeout=0)


def test_outcomes_of_an_empty_run():
    assert PytestRun("", 0).outcomes == {}
    assert PytestRun("..\n3 passed, 1 warning\n", 0).outcomes == {"passed": 3, "warnings": 1}
    assert PytestRun("E\n1 error\n", 1).outcomes == {"errors": 1}
