"""Find the exercises of a course notebook: its template cell, its check cell and its solution.

    from classroom.exercises import find_exercises
    for ex in find_exercises(Path("notebooks/03_tasks_and_futures.ipynb")):
        print(ex.number, ex.check_module, ex.check_name, ex.names, ex.problem)

An exercise, as docs/AUTHORING.md describes it, is a code cell with `raise NotImplementedError`
(the template) followed by a code cell that calls `check_xxx(answer)` from `aiocourse.checks.*`,
whose stored output names the exercise ("⏳ Exercise 3.1 (title): not done yet").  Its reference
solution is the part of `notebooks/solutions/NN_x.py` that starts with a `# Exercise 3.1`
comment and runs to the next such comment; it must define every function the template defines,
or the exercise is reported as having none (`problem` says why).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Exercise", "find_exercises", "source"]

_RAISE = re.compile(r"^\s*raise NotImplementedError\b", re.M)
_CALL = re.compile(r"\bcheck_\w+\s*\(")
_NOT_DONE = re.compile(r"Exercise (\d+\.\d+) \((.*)\): not done yet")
_HEADING = re.compile(r"Exercise (\d+\.\d+)")
_SEGMENT = re.compile(r"^# Exercise (\d+\.\d+)\b", re.M)


@dataclass(frozen=True)
class Exercise:
    notebook: str            # the notebook's stem, "03_tasks_and_futures"
    number: str              # "3.1"
    title: str
    template_index: int      # index of the template cell in the notebook's cells
    check_index: int         # index of the check cell
    check_module: str        # "aiocourse.checks.tasks"
    check_name: str          # "check_fetch_all"
    check_args: str          # the call's arguments as written: "fetch_all"
    awaited: bool            # `await check_x(...)` (most) or a plain call (14.1)
    names: tuple[str, ...]   # the functions the template defines
    solution: str | None     # the reference solution's code, its module's imports first
    problem: str | None      # why `solution` is None

    @property
    def answer_id(self) -> str:
        return "answer_" + self.number.replace(".", "_")

    @property
    def grade_id(self) -> str:
        return "check_" + self.number.replace(".", "_")


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _parse(text: str) -> ast.Module | None:
    try:  # cells may await at top level
        return compile(text, "<cell>", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError:  # a magic (%env, !cmd): not Python, and never an exercise's cell
        return None


def _stdout(cell: dict) -> str:
    return "".join(source({"source": out.get("text", "")}) for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream")


def _check_imports(cells: list[dict]) -> dict[str, str]:
    """Every `from aiocourse.checks.X import name` in the notebook: name -> module."""
    found: dict[str, str] = {}
    for cell in cells:
        tree = _parse(source(cell)) if cell["cell_type"] == "code" else None
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "aiocourse.checks"):
                for alias in node.names:
                    found[alias.asname or alias.name] = node.module
    return found


def _check_call(text: str) -> tuple[str, str, bool]:
    """(name, arguments as written, awaited) of the cell's `check_xxx(...)` call."""
    tree = _parse(text)
    awaited = set()
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.Await):
            awaited.add(id(node.value))
    for node in ast.walk(tree) if tree else ():
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id.startswith("check_")):
            args = ", ".join(ast.get_source_segment(text, arg) or "" for arg in node.args)
            return node.func.id, args, id(node) in awaited
    raise ValueError(f"no check_xxx(...) call in the check cell:\n{text}")


def _defined(tree: ast.Module | None) -> tuple[str, ...]:
    return tuple(node.name for node in (tree.body if tree else ())
                 if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef))


def _solution(path: Path, number: str, names: tuple[str, ...]) -> tuple[str | None, str | None]:
    """The code of `# Exercise <number>` in the solution file, with the file's imports."""
    if not path.exists():
        return None, f"{path.name} does not exist"
    text = path.read_text()
    starts = [(m.start(), m.group(1)) for m in _SEGMENT.finditer(text)]
    part = next((text[start:(starts[i + 1][0] if i + 1 < len(starts) else len(text))]
                 for i, (start, n) in enumerate(starts) if n == number), None)
    if part is None:
        return None, f"{path.name} has no '# Exercise {number}' part"
    defined = _defined(_parse(part))
    missing = [name for name in names if name not in defined]
    if missing:
        return None, (f"{path.name}: its '# Exercise {number}' part defines "
                      f"{', '.join(defined) or 'no function'}, not {', '.join(missing)}")
    head = text[:starts[0][0]]
    imports = [ast.get_source_segment(head, node) for node in (_parse(head) or ast.Module()).body
               if isinstance(node, ast.Import | ast.ImportFrom)]
    return "\n".join([*imports, "", "", part.strip()]).strip() + "\n", None


def find_exercises(notebook: Path, solutions: Path | None = None,
                   content: dict | None = None) -> list[Exercise]:
    """The exercises of `notebook` (or of its `content`, already read), in order; `solutions`
    defaults to its `solutions/` folder."""
    solutions = solutions or notebook.parent / "solutions"
    cells = (content or json.loads(notebook.read_text()))["cells"]
    imports = _check_imports(cells)
    found: list[Exercise] = []
    for i, cell in enumerate(cells):
        text = source(cell)
        if cell["cell_type"] != "code" or not _RAISE.search(text):
            continue
        j = next((k for k in range(i + 1, len(cells)) if cells[k]["cell_type"] == "code"), None)
        if j is None or not _CALL.search(source(cells[j])):
            continue  # a `raise NotImplementedError` that is no exercise template
        name, args, awaited = _check_call(source(cells[j]))
        match = _NOT_DONE.search(_stdout(cells[j]))
        if match:
            number, title = match.group(1), match.group(2)
        else:  # no stored output: the heading above the template names it
            above = "".join(source(c) for c in cells[:i] if c["cell_type"] == "markdown")
            numbers = _HEADING.findall(above)
            if not numbers:
                raise ValueError(f"{notebook.name}: cannot tell which exercise cell {i} is")
            number, title = numbers[-1], ""
        if name not in imports:
            raise ValueError(f"{notebook.name}: {name} is not imported from aiocourse.checks")
        names = _defined(_parse(text))
        code, problem = _solution(solutions / f"{notebook.stem}.py", number, names)
        found.append(Exercise(notebook.stem, number, title, i, j, imports[name], name, args,
                              awaited, names, code, problem))
    return found
