"""`make release` and `make grade`: nbgrader's release of the course, and a made-up class graded.

These tests need the classroom tools (nbgrader), which live in their own environment:

    make classroom-test      # or: .venv-classroom/bin/python -m pytest -n0 tests/test_release.py

In the course's own environment (`make test`) they are skipped.  `make classroom-test` runs
`make grade` first and points AIOCOURSE_DEMO at what it built (build/classroom/demo): the release
and the made-up class of tests/submissions/make_submissions.py (right, wrong, unfinished,
hanging, raising, reading another student's file, deleting files, flooding output, cheating,
not a notebook, crashing, hoarding memory), graded; the tests read its gradebook and the graded
notebooks.  Without AIOCOURSE_DEMO they build and grade the same in a temporary folder.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("nbgrader", reason="the classroom tools are not installed (make release)")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import release as release_tool  # noqa: E402  (tools/release.py)
from classroom.exercises import find_exercises  # noqa: E402
from classroom.sandbox import probe, seatbelt_profile  # noqa: E402

PY = sys.executable
NB = "03_tasks_and_futures"
CELL_TIMEOUT, NOTEBOOK_TIMEOUT = 20, 120  # as `make grade` grades the made-up class
DEMO = os.environ.get("AIOCOURSE_DEMO")

pytestmark = pytest.mark.timeout(1200)


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([PY, *args], cwd=cwd, capture_output=True, text=True, timeout=1100)


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    if DEMO:
        return (ROOT / DEMO).resolve()
    out = tmp_path_factory.mktemp("classroom")
    done = run("tools/release.py", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="module")
def graded(release) -> dict:
    """The made-up class, graded once: the CSV rows by student, the log, the paths."""
    course, subs = release / "course", release / "submissions"
    if not DEMO:
        done = run("tests/submissions/make_submissions.py", str(subs), "--course", str(course))
        assert done.returncode == 0, done.stderr
        done = run("tools/grade.py", str(subs), "--course", str(course), "--out",
                   str(release / "gradebook.csv"), "--cell-timeout", str(CELL_TIMEOUT),
                   "--notebook-timeout", str(NOTEBOOK_TIMEOUT), "--memory", "1")
        assert done.returncode == 0, done.stdout + done.stderr
    with (release / "gradebook.csv").open() as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return {"rows": rows, "course": course, "subs": subs,
            "log": json.loads((course / "grading-log.json").read_text())}


def graded_copy(graded: dict, student: str) -> str:
    return (graded["course"] / "autograded" / student / "asyncio" / f"{NB}.ipynb").read_text()


# --- the release ----------------------------------------------------------------------------

def test_release_keeps_every_course_cell_and_no_solution(release):
    contents = {p: json.loads(p.read_text()) for p in
                sorted((release / "course" / "source" / "asyncio").glob("[0-9][0-9]_*.ipynb"))}
    for content in contents.values():  # the teacher's version, less what nbgrader takes out
        for cell in content["cells"]:
            text = "".join(cell["source"])
            for start in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
                if start in text:  # both end their cell in the teacher's version
                    text = text[:text.index(start)].rstrip("\n")
            cell["source"] = text
    assert release_tool.verify(release / "course" / "release" / "asyncio", contents) == []
    released = (release / "course" / "release" / "asyncio" / f"{NB}.ipynb").read_text()
    for ex in find_exercises(ROOT / "notebooks" / f"{NB}.ipynb"):
        body = [line for line in ex.solution.splitlines() if line.startswith("    ")]
        assert not any(line in released for line in body if len(line.strip()) > 20)
    assert "HIDDEN TESTS" not in released and "BEGIN SOLUTION" not in released


def test_teacher_version_holds_the_solutions_and_hidden_tests(release):
    nb = json.loads((release / "course" / "source" / "asyncio" / f"{NB}.ipynb").read_text())
    graded = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    answers = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution")]
    assert [c["metadata"]["nbgrader"]["grade_id"] for c in graded] == [
        "check_3_1", "check_3_2", "check_3_3"]
    assert all(c["metadata"]["nbgrader"]["points"] == 1 and c["metadata"]["nbgrader"]["locked"]
               for c in graded)
    assert all("### BEGIN HIDDEN TESTS" in "".join(c["source"]) for c in graded)
    assert all("### BEGIN SOLUTION" in "".join(c["source"]) for c in answers)


def test_student_zip_has_notebooks_package_and_no_solutions(release):
    names = zipfile.ZipFile(release / "asyncio-course-student.zip").namelist()
    assert f"asyncio-course/notebooks/{NB}.ipynb" in names
    assert "asyncio-course/requirements.txt" in names
    assert "asyncio-course/src/aiocourse/exercises.py" in names
    assert not [n for n in names if "solutions" in n or "BEGIN SOLUTION" in n]


def test_every_exercise_of_the_course_has_a_reference_solution():
    problems = [f"{ex.notebook} {ex.number}: {ex.problem}"
                for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
                for ex in find_exercises(path) if ex.problem]
    assert problems == []


# --- the made-up class ------------------------------------------------------------------------

EXPECTED = {  # student: scores of 3.1, 3.2, 3.3
    "ada": "111", "ben": "000", "cleo": "000", "dan": "101", "eve": "010", "fay": "000",
    "gus": "100", "hal": "111", "ivy": "000", "jon": "000", "kim": "000", "lea": "000",
    "max": "000",
}


def test_gradebook_one_row_per_student_one_column_per_exercise(graded):
    rows = graded["rows"]
    assert sorted(rows) == sorted(EXPECTED)
    assert list(next(iter(rows.values())))[:4] == ["student", "3.1", "3.2", "3.3"]
    got = {s: "".join(rows[s][n] for n in ("3.1", "3.2", "3.3")) for s in rows}
    assert got == EXPECTED, {s: rows[s]["notes"] for s in rows}
    assert all(rows[s]["max"] == "3" for s in rows)


def test_each_case_is_reported(graded):
    notes = {s: row["notes"] for s, row in graded["rows"].items()}
    assert notes["ada"] == "" and notes["hal"].count("printed more than 1000 lines") == 1
    assert "3.1 not yet" in notes["ben"] and "3.2 not yet" in notes["ben"]
    assert notes["cleo"].count("not done yet") == 3
    assert re.search(r"timed out after \d+ s and was interrupted", notes["dan"])
    assert "raised ZeroDivisionError" in notes["eve"] and "raised RuntimeError" in notes["eve"]
    assert "not a notebook" in notes["jon"]
    assert "could not be interrupted" in notes["kim"] or "killed after" in notes["kim"]
    assert "kernel died" in notes["lea"]
    assert "more than 1 GiB of memory" in notes["max"]


def test_another_students_file_cannot_be_read(graded):
    fay = graded_copy(graded, "fay")
    for secret in (graded["course"] / "submitted" / "ada" / "asyncio" / f"{NB}.ipynb",
                   graded["subs"] / "ada" / f"{NB}.ipynb",
                   ROOT / "notebooks" / "solutions" / f"{NB}.py"):
        assert f"could not read {secret} - PermissionError" in fay
    assert "could not list / - PermissionError" in fay
    assert f"could not list {graded['course']} - PermissionError" in fay
    assert "tasks = [asyncio.create_task(fetch(name, units)" not in fay  # ada's answer


def test_deleting_files_outside_its_folder_is_refused(graded):
    gus = graded_copy(graded, "gus")
    assert "could not remove" in gus and "gradebook.db - PermissionError" in gus
    assert f"removed {NB}.ipynb" in gus  # its own copy: allowed, and harmless
    assert (graded["course"] / "gradebook.db").exists()
    assert sorted(p.parent.name for p in graded["subs"].glob(f"*/{NB}.ipynb")) == \
        sorted(EXPECTED)  # every student's submission is still there


def test_a_hidden_test_is_not_fooled_by_a_redefined_check(graded):
    ivy = graded_copy(graded, "ivy")
    assert "✅ Exercise 3.1" in ivy  # her own fake check printed a pass ...
    assert graded["rows"]["ivy"]["3.1"] == "0"  # ... the hidden test used the course's
    assert graded["rows"]["ivy"]["3.3"] == "0"  # and her rewritten check cell was put back


def test_nothing_is_left_running(graded):
    import psutil

    left = [p for p in psutil.process_iter(["cmdline"])
            if any("aiocourse-grade-" in part for part in (p.info["cmdline"] or []))]
    assert left == []


def test_a_notebook_over_its_time_limit_is_killed_and_scored(release, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(release / "course", course)
    (course / "grading-log.json").unlink(missing_ok=True)
    subs = tmp_path / "subs"
    (subs / "zed").mkdir(parents=True)
    shutil.copy(course / "release" / "asyncio" / f"{NB}.ipynb", subs / "zed" / f"{NB}.ipynb")
    done = run("tools/grade.py", str(subs), "--course", str(course), "--out",
               str(tmp_path / "g.csv"), "--notebook-timeout", "4")
    assert done.returncode == 0, done.stdout + done.stderr
    row = next(csv.DictReader((tmp_path / "g.csv").open()))
    assert row["student"] == "zed" and row["total"] == "0"
    assert "killed after 4 s" in row["notes"]


# --- the sandbox on its own -------------------------------------------------------------------

def test_sandbox_is_available_here():
    ok, text = probe()
    assert ok, text


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root to become another user")
def test_sandbox_works_for_a_user_who_is_not_root():
    """A teacher is no root: run the sandbox as `nobody`, with the system's Python."""
    with tempfile.TemporaryDirectory(prefix="aiocourse-nobody-") as tmp:  # pytest's are 0700
        _as_nobody(Path(tmp))


def _as_nobody(tmp_path: Path) -> None:
    python = shutil.which("python3", path="/usr/bin")
    work, secret = tmp_path / "work", tmp_path / "secret.txt"
    work.mkdir()
    secret.write_text("another student's answer")
    (work / "mine.txt").write_text("mine")
    tmp_path.chmod(0o755)
    for path in (work, tmp_path / "root"):
        path.mkdir(exist_ok=True)
        os.chown(path, 65534, 65534)
    secret.chmod(0o644)
    code = ("import os\nprint(open('mine.txt').read())\n"
            f"try:\n    open({str(secret)!r}).read()\nexcept PermissionError:\n"
            "    print('denied')\nprint(os.getuid())\n")
    sandbox = tmp_path / "sandbox.py"
    shutil.copy(ROOT / "tools" / "classroom" / "sandbox.py", sandbox)
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           python, "-I", str(sandbox), "--root", str(tmp_path / "root"), "--",
                           python, "-c", code], cwd=work, capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.split() == ["mine", "denied", "65534"], done.stdout + done.stderr


def test_seatbelt_profile_denies_user_files_then_allows_the_sandbox():
    profile = seatbelt_profile(["/opt/py"], ["/tmp/box"], ["/tmp/conn.json"])
    lines = profile.splitlines()
    deny = next(i for i, line in enumerate(lines) if line.startswith("(deny file-read*"))
    allow = next(i for i, line in enumerate(lines) if '(subpath "/tmp/box")' in line)
    assert deny < allow  # in Seatbelt profiles a later rule wins
    assert '(subpath "/Users")' in lines[deny] and "(deny signal (target others))" in profile
