# Keel's entry points. `make demo` and `make test` work on a fresh clone with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[test]'
	touch $(VENV)/.installed $@

# The demo takes a scikit-learn model through the registry: it needs the sklearn extra.
$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[sklearn]'
	touch $(VENV)/.installed $@

# The serving benchmarks run `keel serve` from this venv on a scikit-learn model, and a
# monitor on it (bench/monitor_load.py); bench/monitoring.py needs the monitoring extra too.
$(VENV)/.installed-serving: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[sklearn,serving,monitoring]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed-demo
	$(BIN)/python examples/demo.py

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-serving
	$(BIN)/python bench/tracking.py
	$(BIN)/python bench/auth_http.py
	$(BIN)/python bench/models.py
	$(BIN)/python bench/data.py
	$(BIN)/python bench/monitoring.py
	$(BIN)/python bench/serving.py
	$(BIN)/python bench/monitor_load.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

clean:
	rm -rf $(VENV) .keel .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
