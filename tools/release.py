"""Build the student release of the course with nbgrader: `make release`.

    .venv-classroom/bin/python tools/release.py            # into build/classroom/
    .venv-classroom/bin/python tools/release.py --out DIR  # elsewhere

It writes an nbgrader course folder, `build/classroom/course/`, whose assignment `asyncio` holds
every notebook of the course:
- `source/asyncio/`: the teacher's version. Each exercise's template cell is an nbgrader answer
  cell holding the reference solution (from notebooks/solutions/) between `### BEGIN SOLUTION`
  and `### END SOLUTION`; each check cell is a graded, locked test cell worth 1 point whose
  hidden part (`### BEGIN HIDDEN TESTS`) asserts that the course's check, imported afresh,
  passes.
- `release/asyncio/`: what `nbgrader generate_assignment` makes of it: the templates and the
  check cells exactly as in the course, solutions and hidden tests out, the stored outputs kept.
- `gradebook.db`: nbgrader's gradebook, which `make grade` fills.
and, for the students, `build/classroom/asyncio-course-student.zip` (also unpacked beside it):
the released notebooks, the `aiocourse` package their checks come from, requirements.txt and
a README. Then it checks what it built: no line of a solution and no hidden test in the
release, every template and check cell as in the course. Exit status 1 if a check fails.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from classroom.exercises import Exercise, find_exercises, source  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "asyncio"
COURSE_ID = "asyncio-course"
STUDENT_DIR = "asyncio-course"

CONFIG = '''\
# Written by tools/release.py (edit that script, not this file): nbgrader's settings for the
# course folder that `make release` builds and `make grade` grades in (docs/TEACHING.md).
import sys

sys.path.insert(0, {tools!r})  # for the gradebook exporter, classroom.export
c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.course_id = {course!r}
# The release keeps the course's own template line: the stub replaces the solution by nothing.
c.ClearSolutions.code_stub = {{"python": ""}}
# Every kernel that runs a student's notebook is the sandboxed one that tools/grade.py installs.
c.Execute.kernel_name = "aiocourse-sandbox"
c.Execute.timeout = 60  # seconds per cell; tools/grade.py --cell-timeout overrides it
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
c.ExportApp.plugin_class = "classroom.export.ExerciseGradebook"
'''

README = '''\
# How asyncio actually works: your copy of the course

1. Install (Python 3.11 or newer, Linux or macOS; on Windows use WSL):

       python3 -m venv .venv
       . .venv/bin/activate
       pip install -r requirements.txt
       jupyter lab --notebook-dir=notebooks

2. Open `00_index.ipynb` and work through the notebooks in order. Every exercise has a cell
   that starts with `raise NotImplementedError`: replace that line with your answer, then run
   the check cell below it. It tells you what is right, what is not, and gives a hint.
3. Hand in the notebooks (`notebooks/NN_*.ipynb`) as your teacher asks. They are graded by
   running them from top to bottom in a fresh kernel, so run *Kernel → Restart Kernel and Run
   All Cells* once before you hand them in. A notebook is graded in its own folder, so it cannot
   read your other files.
'''


def nbgrader_cell(cell: dict, **meta) -> dict:
    cell = copy.deepcopy(cell)
    cell["metadata"]["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False,
                                    "grade": False, **meta}
    return cell


def hidden_test(ex: Exercise) -> str:
    call = f"_check({ex.check_args})"
    return "\n".join([
        "### BEGIN HIDDEN TESTS",
        "# The grade: the course's check, taken from its module (not a name the notebook may",
        "# have redefined), must pass.",
        "import importlib as _importlib",
        f"_check = _importlib.import_module({ex.check_module!r}).{ex.check_name}",
        f"assert {'await ' if ex.awaited else ''}{call}, "
        f"'Exercise {ex.number} does not pass its check yet'",
        "### END HIDDEN TESTS",
    ])


def teacher_notebook(course: dict, exercises: list[Exercise]) -> dict:
    """The course notebook with nbgrader's answer and test cells: the `source` version."""
    nb = copy.deepcopy(course)
    for ex in exercises:
        template, check = nb["cells"][ex.template_index], nb["cells"][ex.check_index]
        solution = ex.solution or f"# no reference solution: {ex.problem}\n"
        answer = nbgrader_cell(template, solution=True, grade_id=ex.answer_id)
        answer["source"] = (source(template).rstrip("\n") + "\n### BEGIN SOLUTION\n"
                            + solution + "### END SOLUTION")
        test = nbgrader_cell(check, grade=True, locked=True, points=1, grade_id=ex.grade_id)
        test["source"] = source(check).rstrip("\n") + "\n" + hidden_test(ex)
        nb["cells"][ex.template_index], nb["cells"][ex.check_index] = answer, test
    return nb


def venv_env() -> dict[str, str]:
    """This environment with the venv's bin/ first on PATH (nbgrader runs `alembic` from it)."""
    bin_dir = str(Path(sys.executable).parent)
    return dict(os.environ, PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]))


def run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=venv_env())
    if done.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def student_folder(release: Path, folder: Path) -> None:
    """What the students get: released notebooks, the helper package, requirements, a README."""
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(release, folder / "notebooks")
    shutil.copytree(ROOT / "src" / "aiocourse", folder / "src" / "aiocourse",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "requirements.txt", "LICENSE"):
        shutil.copy2(ROOT / name, folder / name)
    (folder / "README.md").write_text(README)


def zip_folder(folder: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, Path(folder.name) / path.relative_to(folder))


def verify(release: Path, notebooks: dict[Path, dict]) -> list[str]:
    """Every released cell is the course's cell (source and stored outputs): so no solution and
    no hidden test can be in the release.  Returns the failures."""
    failures = []
    for path, content in notebooks.items():
        course = content["cells"]
        released = json.loads((release / path.name).read_text())["cells"]
        if len(released) != len(course):
            failures.append(f"{path.stem}: {len(released)} cells in the release, "
                            f"{len(course)} in the course")
            continue
        for i, (mine, theirs) in enumerate(zip(released, course, strict=True)):
            if source(mine).rstrip("\n") != source(theirs).rstrip("\n"):
                failures.append(f"{path.stem}: cell {i} differs from the course's")
            elif mine.get("outputs") != theirs.get("outputs"):
                failures.append(f"{path.stem}: cell {i} lost its stored outputs")
        text = "\n".join(source(cell) for cell in released)
        for marker in ("BEGIN SOLUTION", "HIDDEN TESTS"):
            if marker in text:
                failures.append(f"{path.stem}: the release contains {marker!r}")
    return failures


def shown(path: Path) -> Path:
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "classroom")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks",
                        help="the course's notebooks (default: notebooks/)")
    args = parser.parse_args(argv)
    out, course = args.out.resolve(), args.out.resolve() / "course"
    notebooks = sorted(args.notebooks.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        sys.exit(f"no NN_*.ipynb notebooks in {args.notebooks}")

    source_dir = course / "source" / ASSIGNMENT
    shutil.rmtree(source_dir, ignore_errors=True)
    source_dir.mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        CONFIG.format(tools=str(Path(__file__).resolve().parent), course=COURSE_ID))
    exercises: dict[str, list[Exercise]] = {}
    contents = {path: json.loads(path.read_text()) for path in notebooks}  # read once
    for path, content in contents.items():
        exs = find_exercises(path, args.notebooks / "solutions", content)
        if exs:
            exercises[path.stem] = exs
        (source_dir / path.name).write_text(json.dumps(teacher_notebook(content, exs), indent=1,
                                                       ensure_ascii=False) + "\n")
    for extra in sorted(args.notebooks.iterdir()):  # data files the notebooks read, if any
        if extra.is_dir() and extra.name not in ("solutions", "__pycache__",
                                                 ".ipynb_checkpoints"):
            shutil.copytree(extra, source_dir / extra.name,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))

    run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force",
         "--ClearOutput.enabled=False", "--log-level=WARN"], cwd=course)
    release = course / "release" / ASSIGNMENT
    failures = verify(release, contents)

    folder = out / STUDENT_DIR
    student_folder(release, folder)
    zip_path = out / f"{STUDENT_DIR}-student.zip"
    zip_folder(folder, zip_path)

    every = [ex for exs in exercises.values() for ex in exs]
    missing = [ex for ex in every if ex.solution is None]
    print(f"release: {len(notebooks)} notebooks, {len(every)} exercises, each checked by the "
          f"course's check (1 point, with a hidden test)")
    print(f"  for the students: {shown(zip_path)} "
          f"(notebooks without solutions, the aiocourse package, requirements.txt, README.md)")
    print(f"  for grading:      {shown(course)}/ (nbgrader's course "
          "folder: source/ with the solutions, release/, gradebook.db)")
    for ex in missing:
        print(f"  no reference solution for exercise {ex.number}: {ex.problem}")
    for failure in failures:
        print(f"FAILED: {failure}")
    if not failures:
        print("  checked: every released cell is the course's, with its stored outputs: no "
              "solution, no hidden test")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
