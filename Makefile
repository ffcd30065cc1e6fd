# Two commands for a new user (see README): `make run` and `make test`; `make lab` opens the notebooks.
# Each creates .venv when missing and installs the project with every extra (notebooks, test,
# export); no network is needed beyond the package index, and the MNIST files ship in data/.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARTIFACTS ?= artifacts
NOTEBOOKS := 01_data_exploration 02_train 03_evaluate 04_inference
# Extra papermill arguments, e.g. make run PAPERMILL_ARGS="-p seed 7"
PAPERMILL_ARGS ?=

EXTRAS := notebooks,test,export

.PHONY: setup run lab test notebooks lint format benchmark clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

# The main job: the four notebooks, headless, in order, into artifacts/.
run: setup
	mkdir -p $(ARTIFACTS)/notebooks
	for name in $(NOTEBOOKS); do \
		$(BIN)/papermill --no-progress-bar notebooks/$$name.ipynb $(ARTIFACTS)/notebooks/$$name.ipynb \
			-p artifacts_dir $(ARTIFACTS) $(PAPERMILL_ARGS) || exit 1; \
	done
	$(BIN)/python -m mnist_helpers summary --artifacts $(ARTIFACTS)

# JupyterLab from the venv, in the repository root. Jupyter refuses to run as root (as many
# containers and cloud machines do) unless told --allow-root, so that flag is added only then.
lab: setup
	$(BIN)/jupyter lab $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# The whole test suite: unit tests, real training, papermill and nbval runs, the browser test.
# Workers share the cores (one per core, at most 4); tests that share a slow run go to one worker.
test: setup
	$(BIN)/python tools/ensure_chromium.py
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadgroup

# Regenerate the committed notebooks' outputs from a full default run.
notebooks: run
	$(BIN)/python tools/clean_notebooks.py $(addprefix $(ARTIFACTS)/notebooks/,$(addsuffix .ipynb,$(NOTEBOOKS))) --into notebooks

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
