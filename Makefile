# Targets a newcomer can guess. Everything runs in .venv, created on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint protos clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## demo: set up, then run the 11 member-state nodes and the broker on loopback
demo: $(STAMP)
	$(BIN)/selec demo $(ARGS)

## test: set up, then run the whole suite (unit, integration, end-to-end)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

## protos: regenerate selec/v1 from protos/ (the suite fails when they differ)
protos: $(STAMP)
	$(BIN)/python scripts/gen_protos.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
