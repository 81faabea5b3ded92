"""Run the seed post's snippets on the post's own Python, 3.6, and record what they print.

    python tools/record_post_py36.py                # writes notebooks/data/post_py36.json
    python tools/record_post_py36.py --check        # runs them again: exit 1 if the file is
                                                    # stale or a run prints something else
    python tools/record_post_py36.py --python /path/to/python3.6

The snippets come from notebook 19 itself, so that the notebook stays their one source: its code
cells are parsed with `ast` (never run) for `LEGACY["name"] = "..."` (a string, or a chain of
`.replace()` on another snippet) and `OPTIONS["name"] = {...}` (Ctrl+C, time limit, lines that
come in set order).  Each snippet runs with `aiocourse.scripts.run_script` on Python 3.6, with the
notebook's options and warnings shown, as the notebook runs it on today's Python.  What varies
between runs or machines is taken out: this machine's paths, and set order (lines printed from a
loop over a set, and the items of a printed set of tasks, are stored sorted; the notebook hides
or sorts that order again when it prints them).  Each record keeps the hash the notebook checks:
sha256 of the snippet's source and run options.  Without --python, the Python is the newest 3.6
of pyenv (PYENV_ROOT, or ~/.pyenv).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "19_from_2017_to_today.ipynb"
DATA = ROOT / "notebooks" / "data" / "post_py36.json"
RUN_KEYS = ("interrupt_on", "interrupt_after", "timeout")  # as notebook 19's RUN_KEYS
ENV = {"PYTHONWARNINGS": "default"}  # as notebook 19's run_legacy()
# The same rule as tests/test_stored_notebooks.py: no path of this machine in a stored output.
LOCAL_PATH = re.compile(r"(/root/|/home/\w+/|/tmp/|/Users/\w+/|site-packages/|/work/|/var/)")

sys.path.insert(0, str(ROOT / "src"))
from aiocourse.scripts import run_script  # noqa: E402  (the course's runner, from this checkout)


def find_python36() -> str | None:
    """The newest Python 3.6 of pyenv, or None."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(root.glob("3.6.*/bin/python3.6"),
                   key=lambda p: [int(n) for n in p.parts[-3].split(".") if n.isdigit()])
    return str(found[-1]) if found else None


# --- the snippets, read from the notebook ---------------------------------------------------------


def _key(node: ast.expr, table: str) -> str | None:
    """"name" for a `table["name"]` target, else None."""
    if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
            and node.value.id == table and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)):
        return node.slice.value
    return None


def _text(node: ast.expr, snippets: dict[str, str]) -> str:
    """A snippet's text: a string, another snippet, or either with `.replace(a, b)` calls."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    name = _key(node, "LEGACY")
    if name is not None:
        return snippets[name]
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "replace" and not node.keywords and len(node.args) == 2):
        old, new = (ast.literal_eval(arg) for arg in node.args)
        return _text(node.func.value, snippets).replace(old, new)
    raise ValueError(f"line {node.lineno}: a snippet must be a string, another snippet or "
                     f".replace() of one, not {ast.unparse(node)[:60]!r}")


def read_snippets(path: Path = NOTEBOOK) -> dict[str, dict]:
    """{name: {"source": ..., "options": {...}}} from the notebook's code cells, in order."""
    snippets: dict[str, str] = {}
    options: dict[str, dict] = {}
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or not re.search(r"\b(LEGACY|OPTIONS)\[", source):
            continue
        for statement in ast.parse(source).body:  # top-level await parses; it is never run
            if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
                continue
            target = statement.targets[0]
            if (name := _key(target, "LEGACY")) is not None:
                snippets[name] = _text(statement.value, snippets)
            elif (name := _key(target, "OPTIONS")) is not None:
                options[name] = ast.literal_eval(statement.value)
    unknown = sorted(set(options) - set(snippets))
    if not snippets or unknown:
        raise ValueError(f"{path.name}: no snippets found" if not snippets else
                         f"{path.name}: OPTIONS for snippets it does not define: {unknown}")
    return {name: {"source": text, "options": options.get(name, {})}
            for name, text in snippets.items()}


def run_options(snippet: dict) -> dict:
    return {k: v for k, v in snippet["options"].items() if k in RUN_KEYS}


def snippet_hash(snippet: dict) -> str:
    """What notebook 19's on_python36() checks: the source and the run options."""
    key = json.dumps({"source": snippet["source"], "run": run_options(snippet)}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()


# --- running them -----------------------------------------------------------------------------


def python_paths(python: str) -> tuple[str, list[str], list[str]]:
    """The version of `python`, its standard library folder, and its prefixes."""
    probe = ("import json, platform, sys, sysconfig; print(json.dumps(["
             "platform.python_version(), [sysconfig.get_paths()['stdlib']],"
             " [sys.prefix, sys.base_prefix, sys.exec_prefix]]))")
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True,
                         timeout=30).stdout
    version, stdlib, prefixes = json.loads(out)
    return version, stdlib, prefixes


def tidy(output: str, snippet: dict, stdlib: list[str],
         prefixes: list[str]) -> tuple[str, list[str]]:
    """The output without this machine's paths, and with set order sorted; and what was sorted."""
    for folder in stdlib:
        output = output.replace(folder.rstrip("/") + "/", "<stdlib>/")
    for folder in sorted(set(prefixes), key=len, reverse=True):
        output = output.replace(folder.rstrip("/") + "/", "<python>/")
    lines = output.split("\n")
    sorted_what = []
    start = snippet["options"].get("set_lines")
    picked = [i for i, line in enumerate(lines) if start and line.startswith(start)]
    if len(picked) > 1:
        for i, text in zip(picked, sorted(lines[i] for i in picked), strict=True):
            lines[i] = text
        sorted_what.append(f"the {len(picked)} lines that start with {start!r}")
    for i, line in enumerate(lines):
        if line.startswith("{<Task ") and line.endswith(">}"):  # print() of a set of tasks
            first, *rest = line[1:-1].split(", <Task ")
            items = sorted([first, *("<Task " + item for item in rest)])
            lines[i] = "{" + ", ".join(items) + "}"
            sorted_what.append(f"the {len(items)} tasks of the set on line {i + 1}")
    output = "\n".join(lines)
    leak = LOCAL_PATH.search(output)
    if leak:
        raise ValueError(f"the output still shows a path of this machine ({leak.group(0)}...): "
                         f"{output[max(0, leak.start() - 80): leak.end() + 40]!r}")
    return output, sorted_what


def record(python: str, snippets: dict[str, dict]) -> dict:
    version, stdlib, prefixes = python_paths(python)
    if not version.startswith("3.6."):
        raise SystemExit(f"{python} is Python {version}, not 3.6")
    records = {}
    for name, snippet in snippets.items():
        run = run_script(snippet["source"], python=python, env=ENV, **run_options(snippet))
        output, sorted_what = tidy(run.output, snippet, stdlib, prefixes)
        records[name] = {"sha256": snippet_hash(snippet), "run": run_options(snippet),
                         "output": output, "returncode": run.returncode,
                         "interrupted": run.interrupted, "timed_out": run.timed_out,
                         "sorted": sorted_what}
        print(f"  {name}: {'; '.join(filter(None, [run.status, *sorted_what]))}", file=sys.stderr)
    return {"about": "What the seed post's snippets printed on its own Python. Written by "
                     "tools/record_post_py36.py from notebooks/19_from_2017_to_today.ipynb: "
                     "do not edit.",
            "python": version, "snippets": records}


def differences(old: dict, new: dict) -> list[str]:
    found = []
    if old.get("python") != new["python"]:
        found.append(f"recorded on Python {old.get('python')}, this is {new['python']}")
    for name in sorted(set(old.get("snippets", {})) | set(new["snippets"])):
        before, after = old.get("snippets", {}).get(name), new["snippets"].get(name)
        if before is None or after is None:
            found.append(f"{name}: " + ("not recorded" if before is None
                                        else "recorded, but no longer in the notebook"))
        elif before["sha256"] != after["sha256"]:
            found.append(f"{name}: the notebook's snippet or its options changed since it was "
                         "recorded")
        elif before != after:
            diff = difflib.unified_diff(before["output"].splitlines(), after["output"].splitlines(),
                                        "recorded", "now", lineterm="")
            status = {k: (before[k], after[k]) for k in ("returncode", "interrupted", "timed_out")
                      if before[k] != after[k]}
            found.append(f"{name}: the run differs" + (f" {status}" if status else "") + "\n"
                         + "\n".join(diff))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="run again and compare with the file instead of writing it")
    parser.add_argument("--python", help="a Python 3.6 (default: the newest 3.6 of pyenv)")
    args = parser.parse_args(argv)
    python = args.python or find_python36()
    if python is None:
        print("no Python 3.6 found (pyenv's versions/3.6.*): pass --python", file=sys.stderr)
        return 2
    snippets = read_snippets()
    print(f"running {len(snippets)} snippets of {NOTEBOOK.name} on {python}", file=sys.stderr)
    new = record(python, snippets)
    if args.check:
        old = json.loads(DATA.read_text(encoding="utf-8")) if DATA.exists() else {}
        found = differences(old, new)
        for line in found:
            print(line, file=sys.stderr)
        print(f"{DATA.relative_to(ROOT)}: {'differs' if found else 'up to date'}", file=sys.stderr)
        return 1 if found else 0
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text(json.dumps(new, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {DATA.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
