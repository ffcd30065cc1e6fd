# Two commands for a new user (see README): `make run` and `make test`; `make lab` opens the notebooks.
# Each creates .venv when missing and installs the project with every extra (notebooks, test,
# export); no network is needed beyond the package index, and the MNIST files ship in data/.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARTIFACTS ?= artifacts
# Extra papermill arguments, e.g. make run PAPERMILL_ARGS="-p seed 7"
PAPERMILL_ARGS ?=

EXTRAS := notebooks,test,export

.PHONY: setup run lab test notebooks student lint format benchmark clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@echo "Setting up $(VENV): PyTorch, JupyterLab and the rest (a few minutes the first time)..."
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e ".[$(EXTRAS)]"
	touch $(STAMP)

# The main job: the notebooks, headless, in order, into artifacts/ (every notebook's parameters
# are checked before the first one runs; a -p artifacts_dir in PAPERMILL_ARGS wins).
run: setup
	$(BIN)/python -m mnist_helpers.runs.pipeline -p artifacts_dir $(ARTIFACTS) $(PAPERMILL_ARGS)

# JupyterLab from the venv, in the repository root: make lab LAB_IP=0.0.0.0 LAB_PORT=8889 to
# reach it from another machine or use another port. Jupyter refuses to run as root (as many
# containers and cloud machines do) unless told --allow-root, so that flag is added only then.
LAB_IP ?= localhost
LAB_PORT ?= 8888
lab: setup
	$(BIN)/jupyter lab --ip=$(LAB_IP) --port=$(LAB_PORT) $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# The whole test suite: unit tests, real training, papermill and nbval runs, the browser test.
# Workers share the cores (one per core, at most 4); tests that share a slow run go to one worker.
test: setup
	$(BIN)/python tools/ensure_chromium.py
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadgroup

# Regenerate the committed notebooks' outputs from a full default run.
notebooks: run
	$(BIN)/python tools/clean_notebooks.py $(patsubst notebooks/%,$(ARTIFACTS)/notebooks/%,$(wildcard notebooks/*.ipynb)) --into notebooks

# Copies of the notebooks without answers, for handing out, in student/.
student: setup
	$(BIN)/python tools/student_notebooks.py --into student

# Style and types: ruff over all Python and notebooks, mypy over the package ([tool.mypy]).
lint: setup
	$(BIN)/ruff check mnist_helpers tests tools notebooks benchmarks conftest.py
	$(BIN)/ruff format --check mnist_helpers tests tools notebooks benchmarks conftest.py
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format mnist_helpers tests tools notebooks benchmarks conftest.py
	$(BIN)/ruff check --fix mnist_helpers tests tools notebooks benchmarks conftest.py

benchmark: setup
	$(BIN)/python -m benchmarks.run --user-command-only

clean:
	rm -rf $(ARTIFACTS)/notebooks $(ARTIFACTS)/checkpoints $(ARTIFACTS)/figures $(ARTIFACTS)/model \
		$(ARTIFACTS)/samples $(ARTIFACTS)/*.json data/MNIST
