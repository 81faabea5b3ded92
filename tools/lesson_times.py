"""Measure each notebook for the lesson plan in docs/TEACHING.md: run time, reading, exercises.

    python tools/lesson_times.py                       # every notebooks/NN_*.ipynb
    python tools/lesson_times.py notebooks/03_*.ipynb  # some
    tools/sid.sh run .venv-3.14/bin/python tools/lesson_times.py   # on the reference Python

Each notebook runs from the top in a fresh kernel (nbclient) on a copy in a temporary folder:
nothing is saved, the stored outputs are untouched.  It prints a Markdown table: seconds the
run took; words of prose, lines of code, "Try it" boxes and exercises; and the estimate the
plan uses, in minutes:

    words / 180  +  code lines / 15  +  2 per "Try it" item  +  5 per exercise  +  run time

(180 words a minute is careful reading of technical prose; a line of code with its output takes
about 4 s to read; a "Try it" is one edit and one run; an exercise is what a learner who read
the notebook needs on average, with the check's hints), rounded to 5 minutes.  The rates are
assumptions for a learner new to asyncio, not measurements: change them here if your class
reads faster or slower, and run this again after the notebooks change.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def counts(nb: dict) -> dict[str, int]:
    words = code = tries = exercises = 0
    for cell in nb["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if "navigation" in cell.get("metadata", {}).get("tags", []):
            continue
        if cell["cell_type"] == "markdown":
            prose = re.sub(r"```.*?```", "", text, flags=re.S)
            words += len(re.findall(r"\w+", prose))
            code += sum(len(b.splitlines()) for b in re.findall(r"```.*?```", text, flags=re.S))
            # a "Try it" box (bold) or section (heading): one per item of its list, at least one
            for box in re.findall(r"(?:\*\*|^#+ )Try it.*?(?=^#|\Z)", text, flags=re.M | re.S):
                tries += max(1, len(re.findall(r"^- ", box, flags=re.M)))
            exercises += len(re.findall(r"^#+ Exercise \d|^\*\*Exercise \d", text, flags=re.M))
        elif cell["cell_type"] == "code":
            code += len([line for line in text.splitlines() if line.strip()])
    return {"words": words, "code": code, "tries": tries, "exercises": exercises}


def run_seconds(path: Path, timeout: int) -> float:
    import nbformat
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory(prefix="aiocourse-times-") as tmp:
        copy = Path(tmp) / path.name
        shutil.copy2(path, copy)
        for extra in ("data",):
            if (path.parent / extra).is_dir():
                shutil.copytree(path.parent / extra, Path(tmp) / extra)
        nb = nbformat.read(copy, as_version=4)
        client = NotebookClient(nb, timeout=timeout, allow_errors=True,
                                resources={"metadata": {"path": tmp}})
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start


def estimate(c: dict[str, int], seconds: float) -> int:
    minutes = (c["words"] / 180 + c["code"] / 15 + 2 * c["tries"] + 5 * c["exercises"]
               + seconds / 60)
    return max(5, 5 * round(minutes / 5))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    parser.add_argument("--no-run", action="store_true", help="count only")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    print(f"Python {sys.version.split()[0]}")
    print("| notebook | run (s) | words | code lines | Try it | exercises | estimate (min) |")
    print("|---|---|---|---|---|---|---|")
    for path in paths:
        c = counts(json.loads(path.read_text()))
        seconds = 0.0 if args.no_run else run_seconds(path, args.timeout)
        print(f"| {path.stem} | {seconds:.0f} | {c['words']} | {c['code']} | {c['tries']} | "
              f"{c['exercises']} | {estimate(c, seconds)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
