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

## test: set up (venv, grpcurl, promtool), then run the whole suite (unit, integration,
## end-to-end; OpenSearch is started by the fixtures unless OPENSEARCH_URL is set)
test: $(STAMP)
	scripts/test-tools
	PATH="$$(go env GOPATH)/bin:$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

## protos: regenerate selec/v1 from protos/ (the suite fails when they differ)
protos: $(STAMP)
	$(BIN)/python scripts/gen_protos.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

## bench: set up, then run the benchmark harness (benchmarks/README.md); options via ARGS,
## e.g. make bench ARGS="--scenarios 1,3 --persons 1000". ghz and py-spy are fetched if
## missing; without them the harness uses its own client and skips the profile.
GHZ_VERSION ?= v0.93.0
.PHONY: bench
bench: $(STAMP)
	-@command -v ghz >/dev/null || test -x "$$(go env GOPATH 2>/dev/null)/bin/ghz" \
		|| go install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)
	-@test -x $(BIN)/py-spy || $(BIN)/python -m pip install --quiet py-spy
	$(BIN)/python -m benchmarks.run $(ARGS)

## soak: set up, then soak the demo federation (its ports, data in var/soak) under mixed load
## with node restarts, and check errors, memory, audit and requests (docs/soak.md), e.g.
## make soak ARGS="--minutes 10"; then the fuzz run (10,000 examples) once benchmarks/fuzz.py
## exists, even when the soak failed; the target fails if either does
.PHONY: soak
soak: $(STAMP)
	@status=0; $(BIN)/python -m benchmarks.soak $(ARGS) || status=1; \
	if test -f benchmarks/fuzz.py; then $(BIN)/python -m benchmarks.fuzz --examples 10000 \
		|| status=1; else echo "benchmarks/fuzz.py is not there yet: no fuzz run"; fi; \
	exit $$status
