# The course's entry points. Two commands are all a newcomer needs:
#   make lab    create the environment and open the course in JupyterLab
#   make test   create the environment and run every test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(abspath $(VENV))/bin
PORT   ?= 8888
# Extra flags for JupyterLab, e.g. LAB_FLAGS="--no-browser --ip=0.0.0.0".
LAB_FLAGS ?=
# Extra flags for pytest, e.g. PYTEST_ARGS="-k conv1d".
PYTEST_ARGS ?=
START  := notebooks/00-start-here/00-start-here.ipynb

# nbgrader shells out to alembic: the environment's bin/ must come first on PATH.
export PATH := $(BIN):$(PATH)

.PHONY: env lab test release bench clean hub site

env: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e ".[instructor]"
	touch $@

lab: env
	$(BIN)/jupyter lab --allow-root --port=$(PORT) --ServerApp.root_dir=$(CURDIR) $(LAB_FLAGS) $(START)

test: env
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# The local JupyterHub of INSTRUCTORS.md (hub/run.py): PostgreSQL, configurable-http-proxy and
# JupyterHub on 127.0.0.1. `make hub` starts it; `make hub HUB=status`, `make hub HUB=stop`.
HUB ?= start
hub: env
	[ -x hub/node_modules/.bin/configurable-http-proxy ] || (cd hub && npm ci --no-audit --no-fund)
	$(BIN)/python hub/run.py $(HUB)

# The course website (tools/site.py; INSTRUCTORS.md): Jupyter Book 1, built offline into
# artifacts/site/html, then checked. SITE_ARGS="--executed DIR" reuses executed solutions.
SITE_ARGS ?=
site: env site/node_modules/.package-lock.json
	$(BIN)/python tools/site.py build $(SITE_ARGS)
	$(BIN)/python tools/site.py check artifacts/site/html

# MathJax for the site, pinned by site/package-lock.json
site/node_modules/.package-lock.json: site/package-lock.json
	cd site && npm ci --no-audit --no-fund --loglevel=error

release: env
	$(BIN)/python -m course_utils.instructor.release

bench: env
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python bench/notebook_budget.py
	$(BIN)/python bench/conv_speed.py --threads 1 --cpu-time --repeat 20

clean:
	rm -rf $(VENV) .pytest_cache artifacts
