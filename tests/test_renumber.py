"""tools/renumber.py's rewriter: the reference forms it renames, and the numbers it must leave."""

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "renumber", Path(__file__).resolve().parent.parent / "tools" / "renumber.py")
renumber = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(renumber)

MAPPING = {7: 8, 8: 10, 13: 16, 15: 19}


@pytest.mark.parametrize("before, after", [
    ("(notebook 07, 7.8)", "(notebook 08, 8.8)"),  # the section is renamed once, not twice
    ("notebooks 07 and 13", "notebooks 08 and 16"),
    ("## 15.0 How the snippets run", "## 19.0 How the snippets run"),
    ("Exercise 7.2's check", "Exercise 8.2's check"),
    ("[07 · Ctrl+C](x.ipynb)", "[08 · Ctrl+C](x.ipynb)"),
    ("| 13 | scale |", "| 16 | scale |"),
])
def test_renames(before, after):
    assert renumber.rewriter(MAPPING, {})(before) == after


@pytest.mark.parametrize("text", [
    "about 10.4 hours", "7.5 s", "| 4.6 / 8.3 / 7.2 |", "Python 3.13", "UNIT = 0.05",
    "15.0 s", "8.0x", "4.6, 8.3, 7.2",
])
def test_leaves_numbers_that_are_not_references(text):
    assert renumber.rewriter(MAPPING, {})(text) == text


def test_a_list_of_numbers_is_left_and_reported():
    log, left = [], []
    rewrite = renumber.rewriter(MAPPING, {}, log, left)
    assert rewrite("(13.3, 13.6) and 7.2") == "(13.3, 13.6) and 8.2"
    assert len(log) == 1 and "7.2" in log[0]  # the section it renamed
    assert len(left) == 1 and "(13.3, 13.6)" in left[0]  # one entry per list, not per number
    assert rewrite("Python 3.12, 3.13") == "Python 3.12, 3.13" and len(left) == 1
    assert rewrite("13.3, 13.6, 13.8") == "13.3, 13.6, 13.8" and len(left) == 2
