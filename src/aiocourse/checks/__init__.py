"""The exercise checks, one module per topic; what they share is here."""

UNIT = 0.05  # seconds: the course's time unit (the seed post's 1 s), as in the notebooks
SLACK = 0.8  # units: how late an answer may finish and still count as "about" on time
