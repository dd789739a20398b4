# The commands a person types. `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.nexus-installed
PYTEST_ARGS ?=

.PHONY: run test test-debug test-fast bench lint build clean install dashboard browser-deps

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel

$(STAMP): $(PY) pyproject.toml setup.py
	$(PY) -m pip install --quiet "cython>=3.0,<4" "numpy>=1.26,<3" "setuptools>=70" wheel
	$(PY) -m pip install --quiet --no-build-isolation -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## build: compile the Cython extensions in place (incremental; serialised by a lock)
build: $(STAMP)
	flock .build.lock $(PY) setup.py --quiet build_ext --inplace -j 2

## dashboard: build the web page (npm ci + vite build, versions locked in package-lock.json)
DASH := services/dashboard/web
DASH_SOURCES := $(DASH)/package-lock.json $(DASH)/index.html $(DASH)/vite.config.ts $(DASH)/tsconfig.json \
	$(wildcard $(DASH)/src/*.ts $(DASH)/src/*.css $(DASH)/src/pages/*.ts)
$(DASH)/dist/index.html: $(DASH_SOURCES)
	cd $(DASH) && npm ci --no-audit --no-fund --loglevel=error && npm run build
dashboard: $(DASH)/dist/index.html

## browser-deps: Debian's Chromium for the browser tests (Playwright's own download is unreachable)
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

## run: start the embedded stack (broker, PostgreSQL, Redis) and every service
run: build dashboard
	$(PY) -m nexus.cli up

## test: unit, integration (real broker, PostgreSQL, Redis) and perf gates, with coverage
test: build dashboard browser-deps
	$(PY) -m pytest tests --cov --cov-branch --cov-report=term --cov-report=json:coverage.json --durations=25 $(PYTEST_ARGS)
	$(PY) -m tools.coverage_gate coverage.json
	$(MAKE) --no-print-directory test-debug

## test-debug: the book and money with NEXUS_DEBUG=1 (bounds checks, Book.check() after every
## operation, C warnings as errors), built into build/debug (the in-place modules stay release)
DEBUG_LIB := build/debug
DEBUG_EXTENSIONS := book,fixed
DEBUG_TESTS := tests/unit/matching tests/unit/money
DEBUG_PYTEST_ARGS ?=
test-debug: $(STAMP)
	NEXUS_DEBUG=1 NEXUS_EXTENSIONS=$(DEBUG_EXTENSIONS) flock .build.lock $(PY) setup.py --quiet \
		build_ext --build-lib $(DEBUG_LIB) --build-temp $(DEBUG_LIB)/temp -j 2
	NEXUS_DEBUG_LIB=$(DEBUG_LIB) $(PY) -m pytest -p tests.support.debug_build $(DEBUG_TESTS) -q \
		$(DEBUG_PYTEST_ARGS)

test-fast: build
	$(PY) -m pytest tests/unit -q -x $(PYTEST_ARGS)

## bench: pytest-benchmark suites, side by side with peers (installs the peers first)
bench: build
	$(PY) -m pip install --quiet --no-build-isolation -e '.[dev,bench]'
	$(PY) -m pytest bench --benchmark-only --benchmark-columns=min,median,mean,ops,rounds -p no:randomly $(PYTEST_ARGS)

## lint: ruff and mypy, both clean
lint: build
	$(PY) -m ruff check nexus services tests bench tools setup.py
	$(PY) -m ruff format --check nexus services tests bench tools setup.py
	$(PY) -m mypy nexus services tools

clean:
	rm -rf build *.egg-info .pytest_cache .mypy_cache .ruff_cache .benchmarks .coverage coverage.json htmlcov
	find . -path ./$(VENV) -prune -o \( -name '*.so' -o -name '__pycache__' \) -print | xargs rm -rf
	find ext -name '*.c' -delete
	find ext -name '*.html' -delete
