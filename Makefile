# Two entry points for a fresh machine: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench validate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)  ## theory vs simulation on the default configuration -> results/demo/
	$(BIN)/deeplinear demo --out results/demo

test: $(STAMP)  ## unit tests and the small theory-vs-simulation checks
	$(BIN)/python -m pytest

bench: $(STAMP)  ## speed ratios, written under benchmarks/
	$(BIN)/python benchmarks/simulator_speed.py
	$(BIN)/python benchmarks/theory_speed.py

validate: $(STAMP)  ## minutes to hours: theory vs simulation reports under validation/
	$(BIN)/python validation/core.py

clean:
	rm -rf $(VENV) results .pytest_cache
