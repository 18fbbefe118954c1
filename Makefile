# graphkit: the two commands a new user needs are `make demo` and `make test`.
# Both set everything up first (virtualenv, pinned packages, the GraphFrames JVM package),
# idempotently: a second run only checks and moves on.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.graphkit-installed
PYTEST_ARGS ?=
# Extra Maven repositories for the GraphFrames JVM package (comma-separated URLs or paths), searched
# after your own Maven configuration; a checkout with ../shared/maven beside it uses that folder.
GRAPHKIT_MAVEN_REPOS ?= $(if $(wildcard ../shared/maven/io),$(abspath ../shared/maven))
export GRAPHKIT_MAVEN_REPOS
# Where the package can be had, a GraphFrames test that finds it missing fails instead of skipping.
GRAPHKIT_REQUIRE_GRAPHFRAMES ?= $(if $(GRAPHKIT_MAVEN_REPOS),1,0)
export GRAPHKIT_REQUIRE_GRAPHFRAMES

.PHONY: setup demo test bench notebooks clean

setup: $(STAMP)
	@$(BIN)/python -m graphkit._provision

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "graphkit needs Python >= 3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,notebooks]"
	@touch $@

demo: setup
	$(BIN)/graphkit demo

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/run_all.py

# Jupyter on notebooks/ with graphkit's own virtualenv as the kernel (open the printed URL).
notebooks: setup
	$(BIN)/jupyter notebook --notebook-dir=notebooks --no-browser $(if $(filter 0,$(shell id -u)),--allow-root)

# The environment executors run on a cluster (README: "Run on your cluster"): build the wheel,
# install it with the pinned dependencies into a fresh virtualenv (venv-pack refuses the editable
# install of .venv), and pack that for spark.archives. Writes dist/graphkit-env.tar.gz.
PACK := build/pack
.PHONY: pack
pack: setup
	rm -rf $(PACK)
	$(BIN)/python -m build --wheel --outdir $(PACK)/dist .
	$(PYTHON) -m venv $(PACK)/venv
	$(PACK)/venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt "$$(ls $(PACK)/dist/graphkit-*.whl)[pack]"
	@mkdir -p dist
	$(PACK)/venv/bin/graphkit pack-env dist/graphkit-env.tar.gz --overwrite

clean:
	rm -rf $(VENV) out .pytest_cache
