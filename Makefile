# The two README commands, as make targets. PYTHON must be Python 3.11 or newer.
PYTHON ?= python3
VENV ?= .venv

.PHONY: run test lint bench plots gallery clean

run:
	$(PYTHON) -m venv $(VENV) && $(VENV)/bin/pip install -q -e . && $(VENV)/bin/trnsim run scenarios/quickstart.yaml

test:
	bash .ci/chromium.sh && $(PYTHON) -m venv $(VENV) && $(VENV)/bin/pip install -q -e '.[dev]' && $(VENV)/bin/python -m pytest -q

lint:
	$(VENV)/bin/ruff check . && $(VENV)/bin/python -m mypy sim

bench:
	$(VENV)/bin/python benchmarks/engine.py

clean:
	rm -rf $(VENV) runs build *.egg-info .pytest_cache .hypothesis .ruff_cache

# Every figure in plots/ (the README's pictures), from the bundled scenarios; a few minutes (the decade alone one or two).
gallery:
	$(VENV)/bin/python plots/gallery.py
