# Two commands do all the set-up: `make demo` and `make test`.
# Both create .venv on first use and reinstall when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Jupyter refuses to run as root without being told; containers often do.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: demo test test-fast lint format bench bench-widget clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# JupyterLab on the quickstart notebook, at a URL printed first (with its token): open it and
# run all cells. PORT=8899 make demo if 8888 is taken.
PORT ?= 8888
TOKEN := $(shell od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
demo: $(STAMP)
	@echo "flashwidget demo: open http://127.0.0.1:$(PORT)/lab/tree/quickstart.ipynb?token=$(TOKEN)"
	$(BIN)/jupyter lab --no-browser --ServerApp.root_dir=examples --ServerApp.ip=127.0.0.1 \
		--ServerApp.port=$(PORT) --ServerApp.port_retries=0 \
		--IdentityProvider.token=$(TOKEN) $(ALLOW_ROOT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python js/build.py --check
	node --test js/
	$(BIN)/python -m pytest

# The edit-test loop: everything but the browser tests (about a third of the time). make test
# and CI still run everything.
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python js/build.py --check
	node --test js/
	$(BIN)/python -m pytest -m "not browser"

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/multiclass.py

bench-widget: $(STAMP)
	$(BIN)/python bench/widget_latency.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
