# The two commands a newcomer needs: `make demo` (the main job) and `make test` (everything).
# Both set themselves up on a fresh machine (a virtualenv with the project; `make test` also the
# Debian packages its real-component tests start, when run as root).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: demo test lint unit soak bench setup system-deps wheel-check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP) system-deps  ## everything the tests need

system-deps:
	./scripts/install-system-deps

demo: $(STAMP)  ## replay the dual-master outage story against the built-in simulator
	$(BIN)/syncd demo

lint: $(STAMP)
	$(BIN)/ruff check syncd tests bench
	$(BIN)/ruff format --check syncd tests bench
	$(BIN)/mypy syncd bench tests
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -q

wheel-check:  ## the built wheel, installed without extras, runs --help, sim --help and demo
	./scripts/check-wheel

test: setup lint unit wheel-check  ## lint, types, architecture contract, all tests, the wheel

soak: $(STAMP)  ## the stateful model test with many more examples (prints how many ran)
	MODEL_EXAMPLES=$${MODEL_EXAMPLES:-200} $(BIN)/pytest -q -s -p no:cacheprovider tests/model

bench: $(STAMP)  ## benchmark figures (not part of the pass/fail suite): snapshot, then real passes
	$(BIN)/python -m bench.snapshot
	$(BIN)/python -m bench.listener
	$(BIN)/python -m bench.realpass

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
