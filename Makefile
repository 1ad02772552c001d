# The two commands of the README:
#   make book [PROFILE=ci|full] [JOBS=N] [ONLY="name ..."] [FORCE=1] [SCHEDULER=tcp://host:8786]
#   make test
# and, for readers: make pdf (the last built book as one PDF), make lab (JupyterLab on notebooks/).
# All create .venv from requirements/lock.txt when it is missing or the lock changed.

PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= ci
JOBS    ?=
ONLY    ?=
FORCE   ?=
SCHEDULER ?=
LAB_ARGS ?=

LOCK      := requirements/lock.txt
PEERS     := requirements/peers.txt
LOCK_HASH := $(shell cat $(LOCK) $(PEERS) pyproject.toml 2>/dev/null | sha256sum | cut -c1-16)
STAMP     := $(VENV)/.ltijepa-lock-$(LOCK_HASH)
BIN       := $(VENV)/bin
TEST_JOBS := $(if $(JOBS),$(JOBS),2)
THREADS   := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1

.PHONY: book pdf lab test venv benchmarks clean

book: $(STAMP)
	$(BIN)/ltijepa book build --profile $(PROFILE) $(if $(JOBS),--jobs $(JOBS)) \
		$(if $(ONLY),--only $(ONLY)) $(if $(FORCE),--force) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

# The whole book as one PDF, book/_build/pdf/ltijepa-book.pdf (and a copy in the HTML): the
# single-page HTML of the last `make book`, printed by headless Chromium. Executes nothing.
pdf: $(STAMP)
	$(BIN)/ltijepa book pdf $(if $(FORCE),--force)

# JupyterLab on the chapters with this project's environment (.venv: the lock and ltijepa);
# e.g. LAB_ARGS="--no-browser --port 8899". As root (a container) Jupyter needs --allow-root.
lab: $(STAMP)
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS) notebooks/

# Two phases: unit, property and notebook tests in parallel workers; then the tests that
# build the whole book (its notebooks now come from the cache) and open it in a browser.
# One BLAS/OpenMP thread per test worker, as the book runner gives each notebook worker.
test: $(STAMP)
	$(THREADS) $(BIN)/python -m pytest -n $(TEST_JOBS) -m "not book"
	$(THREADS) $(BIN)/python -m pytest -m book

venv: $(STAMP)

# (Re)create the virtual environment from the exact pins; the stamp's name carries the
# hash of the lock and pyproject.toml, so editing either recreates it.
$(STAMP):
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else "the lock is for Python 3.11, found %d.%d: set PYTHON=python3.11" % v)'
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -r $(PEERS)
	touch $@

# Every script of benchmarks/ but harness.py, the module they share.
benchmarks: $(STAMP)
	@for script in $(filter-out benchmarks/harness.py,$(wildcard benchmarks/*.py)); do \
		echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf book/_build book/executed book/.cache
