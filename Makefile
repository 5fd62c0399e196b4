# The two commands a fresh machine needs (README.md): `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean

# Create .venv and install the pinned dependencies (again only when they change).
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)  ## serve Slack on port $${PORT:-3000} (migrating the database first)
	$(BIN)/jerry serve --port $${PORT:-3000}

test: $(STAMP)  ## the guard rails, then the pure tests, then the end-to-end ones (SQLite and PostgreSQL)
	@scripts/ensure-postgres
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/pytest -q -m "not slow" -p no:xdist
	$(BIN)/pytest -q -m slow -n 3  # the tests mostly wait on I/O: one worker more than the 2 cores fills those waits

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/ack.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
