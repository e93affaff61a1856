# rnn-course: every command a reader, student, instructor or CI needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MATHJAX := _vendor/mathjax/tex-chtml.js
ASSIGNMENTS := $(notdir $(wildcard solutions/*))
JOBS ?= $(shell nproc)  # pytest workers (--dist loadscope: a module or class per worker)

.PHONY: help all venv book exercises grade-demo test lint lab clean

help: ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

all: book grade-demo ## README command 1: build the book and grade the sample submissions
	@echo
	@echo "Book:      $(CURDIR)/_build/html/index.html"
	@echo "Grades:    $(CURDIR)/autograder/work/<assignment>/grades.csv"
	@echo "Feedback:  $(CURDIR)/autograder/work/<assignment>/feedback/<student>/"
	@for a in $(ASSIGNMENTS); do echo "Report:    $(CURDIR)/autograder/work/$$a/report.html"; done

$(STAMP): requirements.txt pyproject.toml
	@echo "Creating the environment in $(VENV) ..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

venv: $(STAMP) ## create .venv and install the pinned requirements (only when they changed)

$(MATHJAX):
	bash scripts/fetch_mathjax.sh

book: $(STAMP) $(MATHJAX) ## build the HTML book into _build/html (runs changed chapters, $(JOBS) at a time)
	$(BIN)/python scripts/execute_book.py --jobs $(JOBS)
	$(BIN)/jupyter-book build . --warningiserror --keep-going

exercises: $(STAMP) ## after editing solutions/: reference outputs, exercises/ (nbgrader) and samples
	$(BIN)/python -m autograder build

grade-demo: $(STAMP) ## grade the bundled sample submissions of every assignment
	@for a in $(ASSIGNMENTS); do \
	  $(BIN)/python -m autograder grade $$a autograder/samples/$$a --csv autograder/work/$$a/grades.csv || exit 1; \
	done

test: $(STAMP) $(MATHJAX) ## README command 2: lint and run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope --durations=15

lint: $(STAMP) ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

lab: $(STAMP) ## open JupyterLab on the exercises (for students)
	$(BIN)/jupyter lab exercises $(if $(filter 0,$(shell id -u)),--allow-root)

clean: ## remove the book build, grading work and caches (keeps .venv)
	rm -rf _build autograder/work .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
