# Quick start: `make run` serves the bot on http://127.0.0.1:8080, `make test` runs every test.
# Both create .venv on first use; only Python 3.11 and the package registry are needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RASA_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10*/bin/python) $(shell command -v python3.10))
RASA_VENV := .venv-rasa
RASA_DIR := var/rasa
RASA_PORT ?= 5005

.PHONY: run test lint bench audit lock rasa rasa-train clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ementor run

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy bot

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

# Known vulnerabilities in the locked dependencies (pip-audit); one line and success when it cannot look.
audit: $(STAMP)
	$(BIN)/python tools/audit.py

lock: $(STAMP)
	{ echo "# Every installed dependency, pinned: what 'make audit' checks. Refresh after changing pyproject.toml: make lock"; \
	  $(BIN)/python -m pip freeze --exclude-editable; } > requirements.lock

# A real Rasa 3.6 server on the same training data (Python 3.10, ~3 minutes and 2.7 GB the first time).
$(RASA_VENV)/bin/rasa:
	$(RASA_PYTHON) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install --quiet 'rasa==3.6.21'

rasa-train: $(STAMP) $(RASA_VENV)/bin/rasa
	$(BIN)/ementor nlu export-rasa $(RASA_DIR)
	cd $(RASA_DIR) && ../../$(RASA_VENV)/bin/rasa train nlu --fixed-model-name nlu

rasa: rasa-train
	cd $(RASA_DIR) && ../../$(RASA_VENV)/bin/rasa run --enable-api --port $(RASA_PORT) --model models/nlu.tar.gz

clean:
	rm -rf $(VENV) var/models results
