"""A made-up class that hands in notebook 03: one student per way a submission can go.

    python tests/submissions/make_submissions.py OUT [--course build/classroom/course]

writes OUT/<student>/03_tasks_and_futures.ipynb for each student below, made from the release
(`make release`): the released notebook with the student's answers in its answer cells and, for
some, cells of their own.  tests/test_release.py grades them; `make grade` does too when no
SUBMISSIONS folder is given, so a teacher can see every case before the first real class.

    ada   right: the reference solutions                              3 of 3
    ben   wrong: right results one after the other, a polling loop,   0 of 3
          a task nobody keeps
    cleo  unfinished: the release as handed out                       0 of 3
    dan   hangs: one answer sleeps for a day at top level; the cell   2 of 3
          is interrupted at its time limit and the rest is graded
    eve   raises: an answer cell that raises, an answer that raises   1 of 3
    fay   reads another student's notebook and the solutions,        0 of 3
          by their absolute paths, and lists the grading folder
    gus   deletes: the class's submissions, the gradebook, his own    1 of 3
          copy of the notebook
    hal   floods: prints a line at a time for as long as he may       3 of 3
    ivy   cheats: redefines the check to print a pass, and rewrites   0 of 3
          a check cell (nbgrader puts it back)
    jon   hands in a file that is not a notebook                      0 of 3
    kim   hangs for good: ignores Ctrl+C (SIGINT) and prints forever;  0 of 3
          only the notebook's time limit ends it
    lea   crashes: her notebook kills its own kernel                  0 of 3
    max   takes memory until he is stopped                            0 of 3
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "03_tasks_and_futures"
sys.path.insert(0, str(ROOT / "tools"))


def reference() -> dict[str, str]:
    from classroom.exercises import find_exercises

    return {ex.number: ex.solution for ex in
            find_exercises(ROOT / "notebooks" / f"{NOTEBOOK}.ipynb")}


WRONG = {
    "3.1": '''async def fetch_all(fetch, jobs):
    return [await fetch(name, units) for name, units in jobs]  # one after the other
''',
    "3.2": '''import asyncio

async def wait_for_callback(subscribe):
    box = []
    subscribe(box.append)
    while not box:  # polling: wakes up every 10 ms
        await asyncio.sleep(0.01)
    return box[0]
''',
    "3.3": '''import asyncio

def fire(coro, running):
    return asyncio.create_task(coro)  # nobody keeps a reference
''',
}


def students(course: Path, out: Path) -> dict[str, dict]:
    """Each student: answers by exercise, cells added after a cell index, cells rewritten."""
    ref = reference()
    ada_copy = course / "submitted" / "ada" / "asyncio" / f"{NOTEBOOK}.ipynb"
    solutions = ROOT / "notebooks" / "solutions" / f"{NOTEBOOK}.py"
    return {
        "ada": {"answers": ref},
        "ben": {"answers": WRONG},
        "cleo": {"answers": {}},
        "dan": {"answers": {**ref, "3.2": "import time\n\ntime.sleep(24 * 3600)  # a day\n"
                            + ref["3.2"]}},
        "eve": {"answers": {"3.1": "1 / 0\n" + ref["3.1"], "3.2": ref["3.2"],
                            "3.3": "def fire(coro, running):\n"
                                   "    raise RuntimeError('not today')\n"}},
        "fay": {"answers": {"3.1": f'''import os

for path in [{str(ada_copy)!r}, {str(out / "ada" / f"{NOTEBOOK}.ipynb")!r},
             {str(solutions)!r}]:
    try:
        print(open(path).read()[:200])
    except OSError as exc:
        print("could not read", path, "-", type(exc).__name__)
for folder in [{str(course)!r}, {str(course / "submitted")!r}, "/", os.path.expanduser("~")]:
    try:
        print(folder, os.listdir(folder))
    except OSError as exc:
        print("could not list", folder, "-", type(exc).__name__)
'''}},
        "gus": {"answers": {"3.1": f'''import os, shutil

for path in [{str(out)!r}, {str(course / "submitted")!r}]:
    shutil.rmtree(path, ignore_errors=True)
for path in [{str(course / "gradebook.db")!r}, "{NOTEBOOK}.ipynb"]:
    try:
        os.remove(path)
        print("removed", path)
    except OSError as exc:
        print("could not remove", path, "-", type(exc).__name__)
''' + ref["3.1"]}},
        "hal": {"answers": ref, "after": {0: "while True:\n    print('all work and no play')\n"}},
        "ivy": {"answers": {"3.1": '''async def check_fetch_all(answer):
    print("✅ Exercise 3.1 (three jobs at the same time, results in order): passed.")
    return True


async def fetch_all(fetch, jobs):
    return []
'''}, "rewrite": {"check_3_3": 'print("✅ Exercise 3.3: passed.")\n'}},
        "jon": {"raw": "this is my homework, I wrote it in a text editor\n"},
        "kim": {"answers": ref, "after": {0: "import signal, time\n\n"
                                             "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                             "while True:\n    print('still here')\n"
                                             "    time.sleep(0.5)\n"}},
        "lea": {"answers": ref, "after": {0: "import os, signal\n\n"
                                             "os.kill(os.getpid(), signal.SIGKILL)\n"}},
        "max": {"answers": ref, "after": {0: "hoard = []\nwhile True:\n"
                                             "    hoard.append(b'x' * 2**25)  # 32 MiB more\n"}},
    }


def code_cell(text: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": None, "metadata": {},
            "outputs": [], "source": text}


def submission(release: dict, spec: dict) -> dict:
    nb = copy.deepcopy(release)
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id", "")
        if meta.get("solution") and grade_id.startswith("answer_"):
            answer = spec.get("answers", {}).get(grade_id[7:].replace("_", "."))
            if answer:
                cell["source"] = answer
        if grade_id in spec.get("rewrite", {}):
            cell["source"] = spec["rewrite"][grade_id]
    for n, (index, text) in enumerate(sorted(spec.get("after", {}).items())):
        nb["cells"].insert(index + 1 + n, code_cell(text))
    for i, cell in enumerate(nb["cells"]):
        if cell.get("id") is None:
            cell["id"] = f"student-{i}"
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--course", type=Path, default=ROOT / "build" / "classroom" / "course")
    args = parser.parse_args(argv)
    out, course = args.out.resolve(), args.course.resolve()
    release = json.loads((course / "release" / "asyncio" / f"{NOTEBOOK}.ipynb").read_text())
    for name, spec in students(course, out).items():
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{NOTEBOOK}.ipynb"
        if "raw" in spec:
            target.write_text(spec["raw"])
        else:
            target.write_text(json.dumps(submission(release, spec), indent=1,
                                         ensure_ascii=False) + "\n")
    print(f"made-up submissions of {NOTEBOOK}: {', '.join(students(course, out))} in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
