"""Restart & Run All, then save: the only way stored outputs are written.

    python tools/execute_notebooks.py                      # every notebook
    python tools/execute_notebooks.py notebooks/03_*.ipynb # some

Run it on the reference Python, 3.14 (`make notebooks PYTHON=python3.14`; on a machine without
it, `tools/sid.sh run make notebooks PYTHON=python3.14 VENV=.venv-3.14`).  On another Python it
refuses, unless `--any-python` is given to look at what that Python prints (do not commit that).

Each notebook runs top to bottom in a fresh kernel of this environment, from the notebooks/
folder (as JupyterLab runs it), and is saved with its outputs.  A cell that fails without the
`raises-exception` tag stops the run and the notebook is not saved.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    # Strip run metadata nbclient would add (timings), so diffs show only real changes.
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            record_timing=False)
    t = time.perf_counter()
    client.execute()
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, path)
    return time.perf_counter() - t


REFERENCE = (3, 14)  # the same as conftest.py's


def main(argv: list[str]) -> int:
    any_python = "--any-python" in argv
    argv = [a for a in argv if a != "--any-python"]
    if sys.version_info[:2] != REFERENCE and not any_python:
        print(f"stored outputs come from Python {REFERENCE[0]}.{REFERENCE[1]}; this is "
              f"{sys.version.split()[0]}. Run: make notebooks PYTHON=python3.14 (or, here, "
              "tools/sid.sh run make notebooks PYTHON=python3.14 VENV=.venv-3.14); "
              "--any-python runs it anyway", file=sys.stderr)
        return 2
    paths = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        print(f"{path.name}: {execute(path):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
