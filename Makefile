# Two commands for a fresh Linux or macOS machine with Python 3.11+ and make:
#   make lab    set up .venv if needed, then start JupyterLab on notebooks/
#   make test   set up .venv if needed, then run the whole suite
# PYTHON picks the interpreter that creates .venv (e.g. make test PYTHON=python3.14): any of
# 3.11 to 3.15; the stored outputs come from 3.14, the reference (docs/AUTHORING.md).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# (JupyterLab refuses to run as root without --allow-root: containers and CI machines are root.)
STAMP  := $(VENV)/.installed

.PHONY: lab test setup lint reliability load browser binder-check navigation notebooks bench clean help \
        release grade site classroom-test
help:
	@echo "make lab | make test | make reliability | make browser | make binder-check | make load"
	@echo "make lint | make navigation | make notebooks | make bench | make clean"
	@echo "make release | make grade [SUBMISSIONS=dir] | make site | make classroom-test"

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else \
	  "This course needs Python 3.11 or newer; $(PYTHON) is " + sys.version.split()[0] + \
	  ". Run: make $(MAKECMDGOALS) PYTHON=python3.14 (or 3.11 to 3.15)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

setup: $(STAMP)

lab: $(STAMP)
	@echo "Starting JupyterLab; open the http://127.0.0.1:...?token=... URL it prints below."
	$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser --ServerApp.root_dir=notebooks \
	  $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools notebooks

test: $(STAMP) lint
	$(BIN)/python -m pytest

# Every notebook twice in one kernel, and nothing left behind (issue 9); .ci/run calls it.
reliability: $(STAMP)
	$(BIN)/python -m pytest -m reliability tests/test_reliability.py

# JupyterLab in a real Chromium: Run All from the menu, no unexpected errors, figures drawn.
browser: $(STAMP)
	$(BIN)/python -m pytest -m browser tests/test_browser.py

# What Binder builds from binder/ (fresh venv on runtime.txt's Python), then every notebook in it.
binder-check:
	$(PYTHON) tools/binder_check.py

# Write the navigation header/footer cells of every notebook (idempotent; --check in CI).
navigation: $(STAMP)
	$(BIN)/python tools/add_navigation.py

# The strict suite with every core busy: 10 runs with xdist, 10 with one notebook at a time
# (MODES="xdist serial pip" adds runs beside a heavy pip install); prints passes out of runs.
load: $(STAMP)
	PYTHON_BIN=$(BIN)/python tools/under_load.sh $(or $(RUNS),10) $(or $(MODES),xdist serial)

# Rewrite the stored outputs after a change: a clean Restart & Run All of each notebook (or of
# NB="notebooks/03_*.ipynb"), on the reference Python 3.14 (the tool refuses another).
notebooks: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py $(NB)

bench: $(STAMP)
	$(BIN)/python bench/timeline_overhead.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache

# --- classroom: a student release graded with nbgrader, and the course as a website ----------
# (docs/TEACHING.md).  The teacher's tools live in their own venv, .venv-classroom: the course's
# requirements plus tools/classroom/requirements.txt (nbgrader, Jupyter Book 2).
CLASSROOM   ?= .venv-classroom
CBIN        := $(CLASSROOM)/bin
CSTAMP      := $(CLASSROOM)/.installed
DEMO        := build/classroom/demo
# `make grade` without SUBMISSIONS grades the made-up class of tests/submissions (into $(DEMO)),
# with short time limits; with SUBMISSIONS=dir (one folder per student) it grades that folder
# into build/classroom/gradebook.csv, with GRADE_ARGS passed on (tools/grade.py --help).
SUBMISSIONS ?=
GRADE_ARGS  ?=
DEMO_ARGS   ?= --cell-timeout 20 --notebook-timeout 120 --memory 1

$(CSTAMP): requirements.txt tools/classroom/requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else \
	  "The classroom tools need Python 3.11 or newer; $(PYTHON) is " + sys.version.split()[0])'
	@test -x $(CBIN)/python || $(PYTHON) -m venv $(CLASSROOM)
	$(CBIN)/python -m pip install --quiet --upgrade pip
	$(CBIN)/python -m pip install --quiet -r requirements.txt -r tools/classroom/requirements.txt
	@touch $@

# The release a teacher hands out (build/classroom/asyncio-course-student.zip) and nbgrader's
# course folder it is graded in (build/classroom/course).
release: $(CSTAMP)
	$(CBIN)/python tools/release.py

grade: $(CSTAMP)
ifeq ($(SUBMISSIONS),)
	rm -rf $(DEMO)
	$(CBIN)/python tools/release.py --out $(DEMO)
	$(CBIN)/python tests/submissions/make_submissions.py $(DEMO)/submissions --course $(DEMO)/course
	$(CBIN)/python tools/grade.py $(DEMO)/submissions --course $(DEMO)/course \
	  --out $(DEMO)/gradebook.csv $(DEMO_ARGS)
else
	@test -d build/classroom/course/release || $(MAKE) release
	$(CBIN)/python tools/grade.py $(SUBMISSIONS) $(GRADE_ARGS)
endif

# The website, from the stored outputs (nothing is run): build/site/html/index.html.
site: $(CSTAMP)
	$(CBIN)/python tools/site.py

# The three above for real, then their tests (the made-up class's gradebook, what the sandbox
# prevented, every link and image of the site, three pages in Chromium); .ci/run calls it.
classroom-test: $(CSTAMP)
	$(MAKE) release grade site SUBMISSIONS=
	AIOCOURSE_DEMO=$(DEMO) $(CBIN)/python -m pytest -n0 -m "browser or not browser" \
	  tests/test_release.py tests/test_site.py
