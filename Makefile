# One command to run the bot, one to run the tests. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench bench-delivery bench-home clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python app.py

sandbox: $(STAMP)
	$(BIN)/python app.py --sandbox

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/intake_latency.py

bench-delivery: $(STAMP)
	$(BIN)/python bench/delivery.py

bench-home: $(STAMP)
	$(BIN)/python bench/home.py
	$(BIN)/python bench/report.py

clean:
	rm -rf $(VENV) .pytest_cache
