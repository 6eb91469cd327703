# The two commands of the README: `make demo` and `make test`. Each bootstraps .venv itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test unit integration reliability bench venv schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## Run the main job on the embedded default: local Kafka broker, worker, shop traffic.
demo: $(STAMP)
	$(BIN)/winback demo

## The whole suite: unit, property, integration and reliability tests (the last two start a real broker).
test: $(STAMP)
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit tests/property

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

## Crashes, rebalances, broker outages, hostile input and a soak (see docs/guarantees.md).
reliability: $(STAMP)
	$(BIN)/python -m pytest tests/reliability

## Benchmarks print their figures; they assert nothing about speed.
bench: $(STAMP)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

schemas: $(STAMP)
	$(BIN)/winback schemas export

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
