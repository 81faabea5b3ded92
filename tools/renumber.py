"""Renumber the course's notebooks, and every reference to their numbers, in one go.

    python tools/add_navigation.py --renumber 07=08 08=10 ... [--insert drafts/07_x.ipynb ...]
    python tools/add_navigation.py --renumber 07=08 --dry-run   # print what would change

Called by tools/add_navigation.py, which then writes the navigation cells.  A mapping old=new
renames notebooks/OLD_*.ipynb and notebooks/solutions/OLD_*.py (with git mv), and rewrites, all
at once (so 07=08 08=10 is not 07 -> 10), every reference to those numbers in the course's text:
file names (`08_ctrl_c_and_shutdown.ipynb`), titles and sections (`# 08 · `, `## 07.3`),
exercises (`Exercise 7.2`, `Exercise("7.2"`), "notebook 08", "notebooks 13 and 14", section
references such as "11.5" or "§11.5", and the README's course map (`| 07 |`).  A list
of numbers ("(13.3, 13.6)", or figures "4.6, 8.3") is left and listed for a human.  Stored outputs
are not touched (re-run the notebooks afterwards: `make notebooks`).  `--insert` moves a draft
notebook (already numbered as it should be) and its solution file (drafts/solutions/) in; files
named after a draft's topic (its checks module and their tests) are left as they are.

Which text: README.md, docs/*.md, notebooks/*.ipynb (Markdown and code, not outputs),
notebooks/solutions/*.py, src/, tests/, tools/, bench/, .ci/run, Makefile.  A number is only
read as a notebook's where its form says so; read the diff before you commit it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def parse(pairs: list[str]) -> dict[int, int]:
    mapping: dict[int, int] = {}
    for pair in pairs:
        m = re.fullmatch(r"(\d{1,2})=(\d{1,2})", pair)
        if not m:
            raise SystemExit(f"--renumber takes old=new pairs such as 07=08, not {pair!r}")
        mapping[int(m[1])] = int(m[2])
    if len(set(mapping.values())) != len(mapping):
        raise SystemExit(f"two notebooks would get one number: {mapping}")
    return mapping


def _text_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "Makefile", ROOT / ".ci" / "run",
             *sorted((ROOT / "docs").glob("*.md")), *sorted(NOTEBOOKS.glob("*.ipynb")),
             *sorted((NOTEBOOKS / "solutions").glob("*.py"))]
    for folder in ("src", "tests", "tools", "bench"):
        files += sorted((ROOT / folder).rglob("*.py"))
    return [f for f in files if f.exists() and "__pycache__" not in f.parts]


# "ipykernel 7.3", "Redis 8.0", "nest-asyncio2>=1.7": a version, not a section.
VERSION_BEFORE = re.compile(
    r"(?:\b(?:ipykernel|jupyterlab|JupyterLab|nbval|nbclient|pytest|redis|Redis|Valkey|valkey|"
    r"numpy|matplotlib|aiohttp|taskiq|uvloop|[Pp]ython|CPython|version|macOS|[Nn]ode(?:\.js)?|"
    r"npm|Chromium|tornado|ipywidgets|viztracer|VizTracer|playwright|ruff|psutil|pip|Debian|"
    r"PEP|gcc|glibc|repo2docker|mystmd|nbgrader|otter-grader|looptime|pytest-asyncio|"
    r"nest-asyncio2?|nest_asyncio2?|redis-py|hiredis|Jupyter|Binder|Ubuntu|Windows|bookworm)"
    r"[\s=]*|[<>=~]=?\s*|\bv)$")


# Where a section number may begin: not inside a word, a path, a version or a table of figures
# ("4.6 / 8.3"), and not after a number and a comma (a list: see listed_re).
_SECTION_START = r"(?<![\w.\-/:])(?<!/ )(?<!\d\.\d, )(?<!\d\.\d\d, )(?<!\d\.\d,)"


def rewriter(mapping: dict[int, int], names: dict[str, str], log: list[str] | None = None,
             left: list[str] | None = None):
    """A function rewriting one text: every reference form at once.  Section references
    ("11.5") are the only guessed form: each one rewritten is added to ``log`` with its
    context, and each list of numbers left as it is to ``left``, for a human to read."""

    def num(n: str, width: int | None = None) -> str | None:
        new = mapping.get(int(n))
        if new is None:
            return None
        return f"{new:02d}" if (width or len(n)) == 2 else str(new)

    file_re = re.compile("|".join(re.escape(k) for k in sorted(names, key=len, reverse=True))) \
        if names else None
    # "notebook 08", "notebooks 13 and 14", "notebooks 13, 14 and 17", "Notebook 3"
    # (a number after the first one is a notebook's, not a section's: "notebook 07, 7.8")
    notebook_re = re.compile(r"\b([Nn]otebooks?)(\s+\d{1,2}\b(?:(?:\s*,\s*|\s+and\s+|\s+or\s+"
                             r"|\s*(?:–|-|to)\s*)\d{1,2}\b(?!\.\d))*)")
    # "# 08 · Title", "[08 · Title](...)", "| 07 |", "**07**"
    title_re = re.compile(r"(?<![\d.])(\d{2})( · )")
    row_re = re.compile(r"^(\| )(\d{2})( \|)", re.M)
    # "## 7.3", "## 19.0 How", "Exercise 7.2", "Exercise(\"7.2\"", "§7.2", "7.2's", "(7.2)":
    # N.k with N a notebook number, not a decimal (3.12, 0.05), not a quantity (10.5 s, 10.4
    # hours) and not a figure in a table of figures ("4.6 / 8.3 / 7.2")
    section_re = re.compile(
        _SECTION_START + r"(\d{1,2})\.([1-9]\d?|0(?= [A-Z]))"
        r"(?![\d.]|\s*(?:s\b|ms\b|units?\b|x\b|hours?\b|minutes?\b|h\b|min\b|%|GiB|MB|KiB|"
        r"/|\*|\+|,\s*\d))")

    # "(13.3, 13.6)" and "4.6, 8.3" look alike: a list of numbers is left as it is (section_re
    # takes no number before or after ", digit") and logged, for a human to rename by hand
    # where it is a list of sections.
    listed_re = re.compile(_SECTION_START + r"(\d{1,2})\.([1-9]\d?)(?=,\s*\d)")  # its first

    def sub_notebooks(m: re.Match) -> str:
        def one(n: re.Match) -> str:
            return num(n[0]) or n[0]
        return m[1] + re.sub(r"\d{1,2}", one, m[2])

    def sub_section(m: re.Match) -> str:
        new = num(m[1])
        if new is None or VERSION_BEFORE.search(m.string, max(m.start() - 40, 0), m.start()):
            return m[0]
        if log is not None:
            start = max(m.start() - 30, 0)
            log.append(m.string[start:m.end() + 15].replace("\n", " "))
        return f"{new}.{m[2]}"

    def sub_title(m: re.Match) -> str:
        new = num(m[1])
        return f"{new}{m[2]}" if new is not None else m[0]

    def sub_row(m: re.Match) -> str:
        new = num(m[2])
        return f"{m[1]}{new}{m[3]}" if new is not None else m[0]

    def rewrite(text: str, sections: bool = True) -> str:
        if file_re is not None:
            text = file_re.sub(lambda m: names[m[0]], text)
        text = notebook_re.sub(sub_notebooks, text)
        text = title_re.sub(sub_title, text)
        text = row_re.sub(sub_row, text)
        # Sections only where the number cannot be a file's (already rewritten above).
        if sections:
            text = section_re.sub(sub_section, text)
            if left is not None:
                for m in listed_re.finditer(text):
                    if num(m[1]) is not None and not VERSION_BEFORE.search(
                            text, max(m.start() - 40, 0), m.start()):
                        start = max(m.start() - 30, 0)
                        left.append(text[start:m.end() + 15].replace("\n", " "))
        return text

    return rewrite


def renumber(mapping: dict[int, int], inserts: list[Path], dry_run: bool = False) -> list[str]:
    """Rename and rewrite; returns the changed paths (relative to the repository)."""
    names: dict[str, str] = {}
    moves: list[tuple[Path, Path]] = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        old = int(path.name[:2])
        if old in mapping:
            new_name = f"{mapping[old]:02d}{path.name[2:]}"
            names[path.name] = new_name
            moves.append((path, path.with_name(new_name)))
            solution = NOTEBOOKS / "solutions" / (path.stem + ".py")
            if solution.exists():
                names[solution.name] = new_name[:-6] + ".py"
                moves.append((solution, solution.with_name(new_name[:-6] + ".py")))
            # a module named after the notebook keeps its name (checks/<topic_words>.py)
    log: list[str] = []
    lists: list[str] = []
    rewrite = rewriter(mapping, names, log, lists)
    changed = []
    # A draft's own modules (checks/<topic>.py, tests/test_checks_<topic>.py) are numbered as
    # the draft is, already: not rewritten.
    topics = [d.stem[3:] for d in inserts]
    for path in _text_files():
        if any(t in path.stem for t in topics):
            continue
        raw = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            nb = json.loads(raw)
            for cell in nb["cells"]:
                src = "".join(cell["source"]) if isinstance(cell["source"], list) else \
                    cell["source"]
                new = rewrite(src)
                if new != src:
                    cell["source"] = new.splitlines(keepends=True)
            new_raw = json.dumps(nb, sort_keys=True, indent=1, separators=(",", ": "),
                                 ensure_ascii=False) + "\n"
        else:
            # Measured figures (bench), and examples (this file, its test): no section guessing.
            new_raw = rewrite(raw, sections=path.parent.name != "bench"
                              and path.name not in ("renumber.py", "test_renumber.py"))
        if new_raw != raw:
            changed.append(str(path.relative_to(ROOT)))
            if not dry_run:
                path.write_text(new_raw, encoding="utf-8")
    targets = [b for _, b in moves]
    clash = [t.name for t in targets if t.exists() and t not in [a for a, _ in moves]]
    for draft in inserts:
        target = NOTEBOOKS / draft.name
        clash += [target.name] if target.exists() and target not in [a for a, _ in moves] \
            else []
    if clash:
        raise SystemExit(f"renumbering would overwrite {clash}: map those numbers too")
    left = [f"left as it is: ...{line}... (sections? rename them by hand)" for line in lists]
    if dry_run:
        return changed + [f"{a.name} -> {b.name}" for a, b in moves] + \
            [f"section reference: ...{line}..." for line in log] + left
    # Two passes through temporary names: 07 -> 08 while 08 -> 10 must not collide.
    staged = []
    for a, b in moves:
        tmp = a.with_name(".renumber-" + a.name)
        _git_mv(a, tmp)
        staged.append((tmp, b))
    for tmp, b in staged:
        _git_mv(tmp, b)
    for draft in inserts:
        shutil.move(draft, NOTEBOOKS / draft.name)
        solution = draft.parent / "solutions" / (draft.stem + ".py")
        if solution.exists():
            shutil.move(solution, NOTEBOOKS / "solutions" / solution.name)
        changed.append(f"inserted {draft.name}")
    return changed + [f"{a.name} -> {b.name}" for a, b in moves] + left


def _git_mv(a: Path, b: Path) -> None:
    if subprocess.run(["git", "mv", str(a), str(b)], cwd=ROOT, capture_output=True).returncode:
        a.rename(b)  # not tracked (a draft, a copy): a plain rename
