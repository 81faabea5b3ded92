"""nbgrader's export plugin for this course: one row per student, one column per exercise.

    nbgrader export --to gradebook.csv      # in the course folder; nbgrader_config.py names it

    student,3.1,3.2,3.3,total,max,notes
    ada,1,1,1,3,3,
    dan,1,0,1,2,3,03: cell 41 timed out (60 s) and was interrupted

The columns are the exercises of every notebook that someone handed in, in course order; a
notebook a student did not hand in scores 0 ("not handed in").  tools/grade.py writes
`grading-log.json` beside the gradebook: what happened to each notebook it graded.  A notebook
it could not grade to the end (killed at its time limit, not a notebook, refused by nbgrader)
scores 0 whatever the database holds, and its notes say why.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

ASSIGNMENT = "asyncio"
LOG = "grading-log.json"


def number(grade_id: str) -> str:
    """`check_3_1` -> `3.1`."""
    return grade_id.removeprefix("check_").replace("_", ".")


def _fmt(score: float) -> str:
    return str(int(score)) if float(score).is_integer() else f"{score:g}"


class ExerciseGradebook(ExportPlugin):
    """Writes the gradebook CSV (`--to`, default gradebook.csv) from nbgrader's database."""

    def export(self, gradebook: Gradebook) -> None:
        dest = Path(self.to or "gradebook.csv")
        log = json.loads(Path(LOG).read_text()) if Path(LOG).exists() else {}
        handed_in = sorted({nb for notebooks in log.values() for nb in notebooks})
        columns = []  # (notebook, grade cell, max score)
        for nb in handed_in:
            try:
                cells = gradebook.find_notebook(nb, ASSIGNMENT).grade_cells
            except MissingEntry:
                continue
            for cell in sorted(cells, key=lambda c: [int(x) for x in number(c.name).split(".")]):
                columns.append((nb, cell.name, cell.max_score))
        rows = []
        for student in sorted(log):
            scores, notes = [], []
            for nb, cell, _ in columns:
                entry = log[student].get(nb)
                score = 0.0
                if entry and entry.get("status") == "graded":
                    try:
                        score = gradebook.find_grade(cell, nb, ASSIGNMENT, student).score or 0.0
                    except MissingEntry:
                        score = 0.0
                scores.append(score)
            for nb in handed_in:
                entry = log[student].get(nb)
                if entry is None:
                    if any(c[0] == nb for c in columns):
                        notes.append(f"{nb[:2]}: not handed in")
                    continue
                notes += [f"{nb[:2]}: {note}" for note in entry.get("notes", [])]
            total = sum(scores)
            rows.append([student, *map(_fmt, scores), _fmt(total),
                         _fmt(sum(c[2] for c in columns)), "; ".join(notes)])
        dest.parent.mkdir(parents=True, exist_ok=True)
        with dest.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["student", *(number(c[1]) for c in columns), "total", "max",
                             "notes"])
            writer.writerows(rows)
        self.log.info("Wrote %s: %d students, %d exercises", dest, len(rows), len(columns))
