"""Grade a folder of submitted notebooks with nbgrader, each in a sandbox: `make grade`.

    .venv-classroom/bin/python tools/grade.py SUBMISSIONS     # SUBMISSIONS/<student>/NN_x.ipynb

`make release` must have built the course folder (build/classroom/course).  Every student is a
folder of SUBMISSIONS (its name is the student's id); every notebook in it whose name is one of
the course's is graded on its own: copied to nbgrader's `submitted/<student>/asyncio/`, then
`nbgrader autograde` runs it from the top in a fresh kernel, in a child process.  That kernel is
tools/classroom/sandbox.py's: the notebook works in a copy of its own folder and can read
nothing of the other students, of the gradebook or of the teacher (docs/TEACHING.md says what
is guaranteed where).  Each cell has a time limit (`--cell-timeout`), after which nbgrader
interrupts it and goes on; the whole notebook has one too (`--notebook-timeout`), after which
it is killed with everything it started and scores 0.  A crash, a flood of output, a notebook
that is not one: each is scored and reported, and the next notebook is graded.

At the end `nbgrader export` writes the gradebook, build/classroom/gradebook.csv (one row per
student, one column per exercise, a column of notes), and this prints it.  Exit status 0 when
every notebook could be graded or scored, 2 when grading itself failed.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
sys.path.insert(0, str(TOOLS))

from classroom.export import ASSIGNMENT, LOG, number  # noqa: E402

SANDBOX = TOOLS / "classroom" / "sandbox.py"
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_NOTEBOOK_BYTES = 20 * 2**20
MAX_NOTES = 6  # per notebook, in the gradebook


def venv_env(**extra: str) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return dict(os.environ, PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]), **extra)


def become_subreaper() -> None:
    """Linux: orphans of the graded notebooks become our children, so we can end them all."""
    if platform.system() == "Linux":
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def end_descendants() -> int:
    """Kill every process this grader started, however deep; returns how many were left."""
    left = psutil.Process().children(recursive=True)
    for proc in left:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(left, timeout=5)
    return len(left)


def kernelspec(folder: Path, python: str, box: Path, args: argparse.Namespace) -> None:
    spec = folder / "kernels" / "aiocourse-sandbox"
    spec.mkdir(parents=True)
    argv = [python, "-I", str(SANDBOX), "--root", str(box), "--memory", str(args.address_space),
            "--cpu", str(args.cpu), "--", python, "-m", "ipykernel_launcher",
            "-f", "{connection_file}", "--HistoryManager.hist_file=:memory:"]
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "Python 3 (grading sandbox)", "language": "python"}))


def _tree_rss(proc: subprocess.Popen) -> int:
    """Resident memory of everything nbgrader started (the kernel and its children)."""
    try:
        kids = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        return 0
    total = 0
    for kid in kids:
        try:
            total += kid.memory_info().rss
        except psutil.Error:
            pass
    return total


def watch(proc: subprocess.Popen, started: float, args: argparse.Namespace) -> str | None:
    """Wait for nbgrader; kill it and all it started at the time or memory limit."""
    while proc.poll() is None:
        reason = ("time" if time.monotonic() - started > args.notebook_timeout else
                  "memory" if _tree_rss(proc) > args.memory else None)
        if reason:
            end_descendants()  # the kernel first: it may be in a session of its own
            proc.wait()
            return reason
        time.sleep(0.25)
    return None


def _limit_memory(limit: int) -> None:
    # The soft limit only: the kernels nbgrader starts inherit limits, and sandbox.py sets
    # theirs (soft and hard) from --memory, which may be larger than nbgrader's own.
    if platform.system() == "Linux":
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))


def autograde(course: Path, student: str, notebook: str, args: argparse.Namespace) -> dict:
    """Run nbgrader on one notebook of one student; what happened, for the grading log."""
    private = Path(tempfile.mkdtemp(prefix=f"aiocourse-grade-{student}-"))
    try:
        kernelspec(private / "jupyter", args.python, private / "box", args)
        env = venv_env(JUPYTER_PATH=str(private / "jupyter"),
                       JUPYTER_RUNTIME_DIR=str(private / "runtime"))
        cmd = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--student", student,
               "--notebook", notebook, "--force", f"--Execute.timeout={args.cell_timeout}",
               "--log-level=WARN"]
        started = time.monotonic()
        with (private / "nbgrader.log").open("w+") as logfile:
            proc = subprocess.Popen(cmd, cwd=course, env=env, stdout=logfile,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=lambda: _limit_memory(args.grader_memory))
            stopped = watch(proc, started, args)
            logfile.seek(0)
            log_tail = logfile.read()[-4000:]
        rc = proc.returncode
        seconds = round(time.monotonic() - started)
        left = end_descendants()
    finally:
        shutil.rmtree(private, ignore_errors=True)
    entry: dict = {"seconds": seconds, "notes": []}
    if left:
        entry["notes"].append(f"{left} process(es) it started were still running: ended")
    if stopped == "time":
        entry["status"] = "timed out"
        entry["notes"].insert(0, f"killed after {args.notebook_timeout} s, the notebook's time "
                                 "limit: scored 0")
        return entry
    if stopped == "memory":
        entry["status"] = "too much memory"
        entry["notes"].insert(0, f"killed when its processes held more than "
                                 f"{args.memory / 2**30:g} GiB of memory: scored 0")
        return entry
    if rc != 0:
        entry["status"] = "refused"
        entry["notes"].insert(0, refusal(log_tail, rc, args.cell_timeout) + ": scored 0")
        entry["log"] = log_tail
        return entry
    entry["status"] = "graded"
    entry["notes"] += diagnose(course / "autograded" / student / ASSIGNMENT / f"{notebook}.ipynb",
                               args.cell_timeout)
    return entry


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else (value or "")


def _first_line(cell: dict) -> str:
    line = next((ln.strip() for ln in _text(cell.get("source")).splitlines() if ln.strip()), "")
    return line if len(line) <= 40 else line[:37] + "..."


def feedback(cell: dict, ex: str) -> str | None:
    """The course check's verdict in a few words, from what it printed in the graded cell."""
    lines = [ln for out in cell.get("outputs", []) for ln in _text(out.get("text")).splitlines()]
    for i, line in enumerate(lines):
        if line.startswith("⏳"):
            return f"{ex} not done yet"
        if line.startswith("❌"):
            verdict = line.split("): ", 1)[-1].rstrip(".")
            if verdict.startswith("your code raised"):
                return f"{ex}: the answer raised {verdict.removeprefix('your code raised ')}"
            expected = next((ln.strip().removeprefix("- ") for ln in lines[i + 1:]
                             if ln.strip().startswith("- expected")), "")
            return f"{ex} {verdict}" + (f" ({expected[:80]})" if expected else "")
    return None


def diagnose(path: Path, cell_timeout: int) -> list[str]:
    """What a teacher should know about a graded notebook: timeouts, errors, verdicts."""
    notes = []
    try:
        cells = json.loads(path.read_text())["cells"]
    except (OSError, ValueError):
        return ["graded, but its graded copy could not be read"]
    for i, cell in enumerate(cells):
        meta = cell.get("metadata", {})
        grade_id = meta.get("nbgrader", {}).get("grade_id", "")
        graded = meta.get("nbgrader", {}).get("grade", False)
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o.get("output_type") == "error"]
        error = next((o for o in errors if o.get("ename") == "CellTimeoutError"),
                     errors[0] if errors else None)  # nbgrader adds it after the interrupt
        if any("Output truncated" in _text(o.get("text")) for o in outputs):
            notes.append(f"cell {i} ({_first_line(cell)}) printed more than 1000 lines "
                         "(the graded copy keeps 1000)")
        if error is None:
            continue
        ename, evalue = error.get("ename", ""), error.get("evalue", "")
        if ename == "CellTimeoutError":
            notes.append(f"cell {i} ({_first_line(cell)}) timed out after {cell_timeout} s and "
                         "was interrupted")
        elif graded:
            ex = number(grade_id)
            notes.append(feedback(cell, ex) or f"{ex}: {ename}: {evalue[:80]}")
        elif "raises-exception" not in meta.get("tags", []):  # the course's own, on purpose
            notes.append(f"cell {i} ({_first_line(cell)}) raised {ename}: {evalue[:80]}")
    if len(notes) > MAX_NOTES:  # a notebook that broke early fails everywhere after: the start
        notes[MAX_NOTES - 1:] = [f"and {len(notes) - MAX_NOTES + 1} more (see its graded copy)"]
    return notes


def refusal(log_tail: str, rc: int, cell_timeout: int) -> str:
    """Why nbgrader gave up on a notebook, from the end of its log."""
    errors = re.findall(r"^\s*(?:[\w.]+\.)?(\w+(?:Error|Exception)): (.*)$", log_tail, re.M)
    if not errors:
        return f"nbgrader stopped with exit status {rc}"
    ename, message = errors[-1]
    if ename == "CellTimeoutError":
        return (f"a cell went on after its {cell_timeout} s and could not be interrupted "
                "(Ctrl+C ignored?): nbgrader gave up on the notebook")
    if ename == "DeadKernelError":
        return "its kernel died while a cell ran (the notebook crashed it)"
    return f"nbgrader stopped: {ename}: {message[:100]}"


def load_notebook(path: Path) -> str | None:
    """None if `path` is a notebook nbgrader can read, else why not (read as data only)."""
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return f"larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB"
    try:
        nb = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        return f"not a notebook ({type(exc).__name__})"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return "not a notebook (no cells)"
    return None


def graded_notebooks(course: Path) -> list[str]:
    """The notebooks of the release that have exercises (nbgrader grade cells)."""
    found = []
    for path in sorted((course / "release" / ASSIGNMENT).glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        if any(c.get("metadata", {}).get("nbgrader", {}).get("grade") for c in cells):
            found.append(path.stem)
    return found


def grade(args: argparse.Namespace) -> int:
    course = args.course.resolve()
    if not (course / "release" / ASSIGNMENT).is_dir():
        sys.exit(f"{course} has no release: run `make release` first")
    ok = subprocess.run([args.python, "-I", str(SANDBOX), "--probe"], capture_output=True,
                        text=True)
    print(f"grading sandbox: {ok.stdout.strip() or ok.stderr.strip()}")
    if ok.returncode:
        sys.exit("refusing to grade: student notebooks would run with access to every file of "
                 "this user (docs/TEACHING.md, 'Grading')")
    become_subreaper()
    known = graded_notebooks(course)
    log_path = course / LOG
    log = json.loads(log_path.read_text()) if log_path.exists() else {}
    students = sorted(p for p in args.submissions.iterdir() if p.is_dir())
    if not students:
        sys.exit(f"no student folders in {args.submissions}")
    for folder in students:
        student = folder.name
        if not STUDENT_ID.fullmatch(student):
            print(f"{student!r}: not graded: a student id is letters, digits, '_', '.', '-'")
            continue
        files = {p.stem: p for p in sorted(folder.rglob("*.ipynb"))
                 if ".ipynb_checkpoints" not in p.parts}
        submitted = course / "submitted" / student / ASSIGNMENT
        shutil.rmtree(submitted, ignore_errors=True)
        submitted.mkdir(parents=True)
        entries = log.setdefault(student, {})
        for stem in sorted(set(files) - set(known)):
            print(f"{student:<8} {stem}: not graded (not a notebook with exercises)")
        for stem in (s for s in known if s in files):
            problem = load_notebook(files[stem])
            if problem:
                entries[stem] = {"status": "unreadable", "seconds": 0,
                                 "notes": [f"{problem}: scored 0"]}
            else:
                shutil.copyfile(files[stem], submitted / f"{stem}.ipynb")
                entries[stem] = autograde(course, student, stem, args)
            log_path.write_text(json.dumps(log, indent=1, sort_keys=True))
            entry = entries[stem]
            print(f"{student:<8} {stem}: {entry['status']} in {entry['seconds']} s"
                  + "".join(f"\n{'':<9}- {note}" for note in entry["notes"]))
    out = args.out.resolve()
    done = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", str(out),
                           "--log-level=WARN"], cwd=course, env=venv_env(), capture_output=True,
                          text=True)
    if done.returncode:
        print(done.stdout + done.stderr, file=sys.stderr)
        return 2
    print(f"\ngradebook: {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    with out.open() as f:
        rows = list(csv.reader(f))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
              + ("  " + row[-1] if row[-1] else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", type=Path, help="one folder per student")
    parser.add_argument("--course", type=Path, default=ROOT / "build" / "classroom" / "course")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "classroom" / "gradebook.csv")
    parser.add_argument("--python", default=sys.executable,
                        help="the Python that runs the students' kernels (needs aiocourse)")
    parser.add_argument("--cell-timeout", type=int, default=60, help="seconds per cell")
    parser.add_argument("--notebook-timeout", type=int, default=600,
                        help="seconds per notebook, all cells together")
    parser.add_argument("--memory", type=float, default=2, help="GiB of memory (resident) "
                        "that a notebook's processes may hold together")
    parser.add_argument("--address-space", type=int, default=32 * 2**30,
                        help="bytes of address space per process (Linux), a backstop: "
                             "threads reserve much more than they use")
    parser.add_argument("--cpu", type=int, default=900, help="CPU seconds per kernel")
    parser.add_argument("--grader-memory", type=int, default=4 * 2**30,
                        help="bytes for nbgrader's own process (a flood of output)")
    args = parser.parse_args(argv)
    args.memory = int(args.memory * 2**30)
    return grade(args)


if __name__ == "__main__":
    sys.exit(main())
