# The two commands of the README: `make demo` and `make test`. Each bootstraps .venv itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
QUIX       := benchmarks/peers/quix
QUIX_STAMP := $(QUIX)/.venv/.installed

.PHONY: demo test lint linters registry unit integration reliability bench venv schemas lock prerequisites prerequisites-demo prerequisites-bench clean

# Installs come only from the lock (exact versions, hashes checked), so a dependency's new release
# cannot break a fresh clone; the project itself is installed on top without resolving anything.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

## Run the main job on the embedded default: local Kafka broker, worker, shop traffic.
demo: prerequisites-demo $(STAMP)
	$(BIN)/winback demo

# Two pytest processes (pytest-xdist), each with its own broker once a test needs one. A process
# takes the next test file when it is nearly done with its own, longest first
# (tests/support/fixtures.py), so the soak runs beside the rest; --no-loadscope-reorder keeps that
# order. Whole files, so a module's own broker (test_broker_outage.py) starts once. Not three: on
# 2 cores that was faster still, but the kill -9 and rebalance scenarios' workers then fall so far
# behind that the disruption lands after the work is done and the scenario fails its own premise
# (7 of 63 runs looped three at a time; the records starved workers used to lose are fixed:
# docs/guarantees.md).
# Plain `pytest` runs everything in one process.
PARALLEL := -n 2 --dist loadfile --no-loadscope-reorder

## The whole suite: unit, property, integration and reliability tests (the last two start a real broker).
test: prerequisites $(STAMP) linters registry lint
	$(BIN)/python -m pytest $(PARALLEL)

## The architecture, enforced (ARCHITECTURE.md): the import contracts of the layers (pyproject.toml's
## [tool.importlinter]), ruff with SLF001 (only faust_patches.py touches private names), mypy --strict.
lint: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check --no-cache streams tests benchmarks conftest.py
	$(BIN)/mypy

# kube-score and kubeconform, which tests/unit/deploy/test_linters.py runs on the manifests: built
# from the Go module proxy at these versions into var/tools (once; again when this file changes).
TOOLS := var/tools
KUBE_SCORE := github.com/zegl/kube-score/cmd/kube-score@v1.20.0
KUBECONFORM := github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0

linters: $(TOOLS)/.installed

$(TOOLS)/.installed: Makefile
	GOBIN=$(abspath $(TOOLS)) go install $(KUBE_SCORE)
	GOBIN=$(abspath $(TOOLS)) go install $(KUBECONFORM)
	touch $@

# The local schema registry the registry tests start (Apicurio, assembled from Maven Central into
# ~/.cache/winback-streams/registry once: minutes on a new machine, nothing after), built before
# the tests so that its build is not counted in their time.
registry: $(STAMP)
	$(BIN)/winback registry build

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit tests/property

integration: $(STAMP)
	$(BIN)/python -m pytest $(PARALLEL) tests/integration

## Crashes, rebalances, broker outages, hostile input and a soak (see docs/guarantees.md).
reliability: $(STAMP)
	$(BIN)/python -m pytest $(PARALLEL) tests/reliability

## Benchmarks print their figures; they assert nothing about speed.
## Run by hand, not by `make bench`: compiled_core.py (the mypyc experiment, ~2.5 min; measured,
## not adopted) and worker_ab.py (two checkouts side by side: needs --before DIR).
BENCH_BY_HAND := benchmarks/compiled_core.py benchmarks/worker_ab.py
bench: prerequisites-bench $(STAMP) $(QUIX_STAMP)
	for script in $(filter-out $(BENCH_BY_HAND),$(wildcard benchmarks/*.py)); do $(BIN)/python $$script || exit 1; done

# The Quix Streams peer of benchmarks/pipeline.py lives in its own venv, from its own lock:
# quixstreams pins pydantic below the project's lock, and it must not enter the worker's install.
$(QUIX_STAMP): $(QUIX)/requirements.lock
	$(PYTHON) -m venv $(QUIX)/.venv
	$(QUIX)/.venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(QUIX)/requirements.lock
	touch $(QUIX_STAMP)

## Names every system program `make test` needs that this machine lacks, with the line that installs it.
prerequisites:
	@$(call require,make test,java mvn promtool prometheus go,openjdk-17-jre-headless maven prometheus golang-go)

prerequisites-demo:
	@$(call require,make demo,java mvn,openjdk-17-jre-headless maven)

# The benchmarks' broker and Kafka Streams job need java and mvn; benchmarks/backtest_instructions.py counts instructions with valgrind.
prerequisites-bench:
	@$(call require,make bench,java mvn valgrind,openjdk-17-jre-headless maven valgrind)

# $(call require,WHAT,PROGRAMS,DEBIAN PACKAGES): fail with one message naming every missing program.
define require
missing=; \
for tool in $(2); do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
$(PYTHON) -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
  || missing="$$missing python3.11-with-venv"; \
if [ -n "$$missing" ]; then \
  echo "$(1) needs programs this machine lacks:$$missing"; \
  echo "  Debian/Ubuntu: sudo apt-get install python3 python3-venv $(3)"; \
  echo "  macOS:         brew install python@3.11 openjdk@17 maven prometheus go"; \
  exit 1; \
fi
endef

## Refresh the locks from pyproject.toml's ranges (newest versions allowed); commit the result.
## requirements.lock: everything make installs; requirements-image.lock: what the Dockerfile installs
## (not the `fit` extra: scipy for `winback model fit`, which the worker never runs);
## benchmarks/peers/quix/requirements.lock: the Quix Streams peer's venv (make bench).
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra rocksdb --extra build --extra fit \
	  --generate-hashes --universal --python-version 3.11 --upgrade --quiet -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra rocksdb --extra build --constraint $(LOCK) \
	  --generate-hashes --universal --python-version 3.11 --quiet -o requirements-image.lock
	$(BIN)/uv pip compile $(QUIX)/requirements.in \
	  --generate-hashes --universal --python-version 3.11 --upgrade --quiet -o $(QUIX)/requirements.lock

schemas: $(STAMP)
	$(BIN)/winback schemas export

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis .mypy_cache
