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

# With a Slack app's token (environment or .env): serve Slack. Without one: the sandbox.
run: $(STAMP)  ## serve Slack on port $${PORT:-3000} (migrating the database first), or the sandbox on $${SANDBOX_PORT:-8080}
	@if [ -n "$$SLACK_BOT_TOKEN" ] || grep -qs '^SLACK_BOT_TOKEN=..*' .env; then \
		$(BIN)/jerry serve --port $${PORT:-3000}; \
	else \
		echo "jerry: no SLACK_BOT_TOKEN, so the sandbox starts (a local Slack and a demo company); to connect a real workspace, set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (README.md, \"Creating the Slack app\")."; \
		$(BIN)/jerry sandbox --port $${SANDBOX_PORT:-8080}; \
	fi

test: $(STAMP)  ## the guard rails, then the pure tests, then the end-to-end ones (SQLite and PostgreSQL)
	@scripts/ensure-postgres
	@scripts/ensure-chromium
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	@# The suite starts `jerry` processes by the hundred: with PYTHONDONTWRITEBYTECODE set,
	@# each would compile Jerry's sources again, so they are compiled once here.
	@$(BIN)/python -m compileall -q -j 0 bot models handlers migrations tests
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
