"""What the seed post's snippets printed on its own Python, notebooks/data/post_py36.json.

The file must be the recording of notebook 19's snippets as the notebook writes them now (checked
everywhere), and what a Python 3.6 really prints for them (`tools/record_post_py36.py --check`,
wherever pyenv has a 3.6).  The recorder's own rules are tested on small inputs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import record_post_py36 as recorder  # noqa: E402

PYTHON36 = recorder.find_python36()


def recorded() -> dict:
    return json.loads(recorder.DATA.read_text(encoding="utf-8"))


def test_every_snippet_of_notebook_15_is_recorded_as_it_is_now():
    data = recorded()
    assert data["python"].startswith("3.6."), data["python"]
    now = {name: recorder.snippet_hash(s) for name, s in recorder.read_snippets().items()}
    then = {name: entry["sha256"] for name, entry in data["snippets"].items()}
    assert now == then, "run: python tools/record_post_py36.py (notebook 19's snippets changed)"


def test_the_recording_shows_no_path_of_a_machine():
    for name, entry in recorded()["snippets"].items():
        assert not recorder.LOCAL_PATH.search(entry["output"]), name


@pytest.mark.skipif(PYTHON36 is None, reason="no Python 3.6 here (pyenv's versions/3.6.*): the "
                                             "recording is re-run where one is installed")
def test_python36_still_prints_what_is_recorded():
    assert recorder.main(["--check", "--python", PYTHON36]) == 0, "see the differences above"


def notebook_with(tmp_path: Path, *sources: str) -> Path:
    cells = [{"cell_type": "code", "source": source, "metadata": {}, "outputs": []}
             for source in sources]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells}), encoding="utf-8")
    return path


def test_snippets_are_read_from_literals_and_replace_chains(tmp_path):
    path = notebook_with(tmp_path, 'LEGACY["a"] = """\nprint(1)\n"""\nawait x',
                         'LEGACY["b"] = LEGACY["a"].replace("1", "2")\n'
                         'OPTIONS["b"] = {"timeout": 1, "set_lines": "x"}')
    snippets = recorder.read_snippets(path)
    assert snippets == {"a": {"source": "\nprint(1)\n", "options": {}},
                        "b": {"source": "\nprint(2)\n", "options": {"timeout": 1,
                                                                    "set_lines": "x"}}}
    assert recorder.run_options(snippets["b"]) == {"timeout": 1}  # set_lines is for display
    assert recorder.snippet_hash(snippets["a"]) != recorder.snippet_hash(snippets["b"])


def test_a_snippet_that_needs_running_the_notebook_is_refused(tmp_path):
    with pytest.raises(ValueError, match="must be a string"):
        recorder.read_snippets(notebook_with(tmp_path, 'LEGACY["a"] = make_one()'))
    with pytest.raises(ValueError, match="OPTIONS for snippets it does not define"):
        recorder.read_snippets(notebook_with(tmp_path, 'LEGACY["a"] = "x"',
                                             'OPTIONS["b"] = {}'))


def test_tidy_sorts_set_order_and_removes_paths():
    snippet = {"source": "", "options": {"set_lines": "ret"}}
    output = ("ret 4\nret 1\nok\n{<Task b>, <Task a at /py/lib/python3.6/x.py:1>}\n"
              'File "/py/lib/python3.6/asyncio/tasks.py"\nFile "/py/bin/thing"')
    tidied, what = recorder.tidy(output, snippet, ["/py/lib/python3.6"], ["/py"])
    assert tidied == ("ret 1\nret 4\nok\n{<Task a at <stdlib>/x.py:1>, <Task b>}\n"
                      'File "<stdlib>/asyncio/tasks.py"\nFile "<python>/bin/thing"')
    assert what == ["the 2 lines that start with 'ret'", "the 2 tasks of the set on line 4"]


def test_tidy_refuses_an_output_that_still_shows_a_local_path():
    with pytest.raises(ValueError, match="path of this machine"):
        recorder.tidy('File "/home/me/x.py"', {"source": "", "options": {}}, [], [])
