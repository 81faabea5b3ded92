"""The classroom tools behind `make release` and `make grade` (see docs/TEACHING.md).

    exercises   finds each notebook's exercises: template cell, check cell, reference solution
    sandbox     starts a student's kernel with no access outside its own folder (Landlock, Seatbelt)
    export      nbgrader's export plugin that writes the gradebook: one row per student, one
                column per exercise

The grading itself is nbgrader's (`nbgrader generate_assignment`, `nbgrader autograde`).
"""
