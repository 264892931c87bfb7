# Everything a newcomer needs: `make local` runs the API, `make test` passes the tests.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Lambda runtime is python3.13: prefer it (PATH, then pyenv), else any python3 >= 3.11.
PYTHON ?= $(shell command -v python3.13 2>/dev/null || ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 2>/dev/null | tail -n 1 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .tools/sam
SAM := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0
STAMP := $(VENV)/.installed

.PHONY: help install test lint format typecheck template build local bench deploy clean

help:
	@echo "make local     run the API on http://127.0.0.1:3000 (no Docker, no AWS account)"
	@echo "make test      run the test suite"
	@echo "make lint      ruff, mypy, cfn-lint and sam validate --lint"
	@echo "make build     sam build (needs python3.13 on PATH or in pyenv)"
	@echo "make bench     benchmarks (never part of make test)"
	@echo "make deploy    sam deploy (default environment in samconfig.toml)"

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared functions tests

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .tools .aws-sam .pytest_cache .mypy_cache .ruff_cache
