"""The exercise checks: one module per notebook, named after it (``checks.wait_and_gather`` for
notebook 04's exercises), and the referee they share (``checks.referee``: the one event log
of their fakes, and the beat that judges lateness)."""

UNIT = 0.05  # seconds: the course's time unit (the seed post's 1 s), as in most notebooks
