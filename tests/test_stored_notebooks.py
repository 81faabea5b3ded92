"""The stored notebooks are what a learner reads first: check them as files, without running.

Every code cell ran in order from 1 after a clean restart, errors are only stored where the cell
is tagged `raises-exception`, outputs show no paths of the author's machine, and the shared
hygiene rules of ../shared/tools/nb_hygiene.py hold (the same rules, restated here so that the
check runs on a clone without that folder).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
LOCAL_PATH = re.compile(r"(/root/|/home/\w+/|/tmp/ipykernel_\d+|/Users/\w+/|site-packages/|"
                        r"C:\\\\Users|/work/)")
MAX_BYTES = 1_500_000


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found in notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_are_clean(path: Path):
    raw = path.read_bytes()
    assert len(raw) <= MAX_BYTES, f"{path.name} is {len(raw) // 1024} KiB: shrink its figures"
    nb = json.loads(raw)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    counts = [c.get("execution_count") for c in code if "".join(c["source"]).strip()]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts}: save after one clean Restart & Run All "
        "(python tools/execute_notebooks.py)")
    ignored = 0
    for i, cell in enumerate(code):
        tags = set(cell.get("metadata", {}).get("tags", []))
        src = "".join(cell["source"])
        ignored += "NBVAL_IGNORE_OUTPUT" in src or "nbval-ignore-output" in tags
        assert "NBVAL_SKIP" not in src and "nbval-skip" not in tags, \
            f"{path.name} cell {i}: skipped cells are not checked at all"
        for out in cell.get("outputs", []):
            if out["output_type"] == "error":
                assert "raises-exception" in tags, (
                    f"{path.name} cell {i} stores {out['ename']} without the raises-exception "
                    "tag: JupyterLab's Run All would stop there")
            text = "".join(out.get("text", "")) + "".join(
                "".join(v) if isinstance(v, list) else str(v)
                for k, v in out.get("data", {}).items() if k.startswith("text/"))
            m = LOCAL_PATH.search(text)
            assert m is None, f"{path.name} cell {i} shows a local path: {m and m.group(0)}"
    assert ignored <= max(2, len(code) // 5), f"{path.name}: most outputs should be checked"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_shows_a_timeline(path: Path):
    src = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"]
                    if c["cell_type"] == "code")
    assert "Timeline(" in src and (".show(" in src or ".text(" in src), \
        f"{path.name} must record a Timeline and print its checked text form"


REFERENCE = "3.14"  # the Python the stored outputs come from (conftest.py, docs/AUTHORING.md)
MAX_VERSION_DEPENDENT = 12


def _code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_come_from_the_reference_python(path: Path):
    shown = "".join("".join(out.get("text", "")) for cell in _code_cells(path)
                    for out in cell.get("outputs", []))
    versions = set(re.findall(r"^Python (3\.\d+)\.\d+, ", shown, flags=re.M))
    assert versions == {REFERENCE}, (
        f"{path.name} was run on Python {sorted(versions) or '?'}: stored outputs come from "
        f"{REFERENCE} (tools/execute_notebooks.py on {REFERENCE}; tools/sid.sh has it)")


def test_few_cells_differ_between_versions():
    tagged = [f"{path.name} cell {i}" for path in NOTEBOOKS
              for i, cell in enumerate(_code_cells(path))
              if "version-dependent" in cell.get("metadata", {}).get("tags", [])]
    assert len(tagged) <= MAX_VERSION_DEPENDENT, (
        f"{len(tagged)} cells are tagged version-dependent (at most {MAX_VERSION_DEPENDENT}): "
        "print a fact that holds on every Python instead; " + ", ".join(tagged))
