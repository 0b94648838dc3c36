# The two commands of the README. Each does its own set-up on a fresh machine.
PYTHON ?= python3
PIP := $(PYTHON) -m pip

.PHONY: run test fast check install install-test browser lint bench screenshots

run: install
	$(PYTHON) -m streamlit run app.py

# Two workers (each with its own Streamlit server for the browser tests), whole files apiece.
test: install-test browser lint
	$(PYTHON) -m pytest -q -n 2 --dist loadfile

# The loop while working: unit tests and AppTests (no browser) on two workers, about 90 s
# (work stealing: a few slow tests no longer leave one worker idle at the end).
fast: install-test
	$(PYTHON) -m pytest -q -n 2 --dist worksteal -m "not e2e"

# Lint and types without running anything.
check: lint

install:
	$(PIP) install -q -c constraints.txt -e .

install-test:
	$(PIP) install -q -c constraints.txt -e ".[test]"

# The end-to-end tests drive Debian's Chromium (browser downloads are not possible here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy
	$(PYTHON) -c "from importlinter.cli import lint_imports_command; lint_imports_command()"

bench: install-test
	$(PIP) install -q -c constraints.txt -e ".[bench]"
	$(PYTHON) benchmarks/run_all.py

# Refresh the README's pictures from a real browser (the tests save them to a temporary folder
# otherwise, so a test run leaves the work tree clean).
screenshots: install-test browser
	GRADVIZ_SCREENSHOTS=assets $(PYTHON) -m pytest -q tests/e2e
