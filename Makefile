# digit-ocr developer commands. Every target installs what it needs first (scripts/setup.sh).
#   make run                 web (http://127.0.0.1:8000/) + Celery workers + Redis, Ctrl-C stops all
#   make test [ARGS="-k x"]  pytest against throwaway PostgreSQL + Redis
SHELL := /bin/bash
.DEFAULT_GOAL := help
ARGS ?=

.PHONY: help setup setup-train setup-dev run test fuzz bench bench-ocr train lock

help:
	@echo "targets: setup run test fuzz bench bench-ocr train lock   (make test ARGS='-k name -x')"

setup:
	bash scripts/setup.sh runtime

setup-train:
	bash scripts/setup.sh train

setup-dev:
	bash scripts/setup.sh dev

run: setup-train  # the training worker (fine-tuning from corrections) imports TensorFlow
	bash scripts/run.sh

test: setup-dev
	bash scripts/test.sh $(ARGS)

bench: setup-dev
	bash scripts/bench.sh $(ARGS)

# Contract fuzzing at length: schemathesis with FUZZ_EXAMPLES (default 1000) examples per operation and phase.
fuzz: setup-dev
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-1000} bash scripts/test.sh tests/recognition/test_contract.py -k fuzzing -s $(ARGS)

bench-ocr: setup-dev
	@command -v tesseract >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y tesseract-ocr; }
	.venv/bin/python -m bench.ocr $(ARGS)
	.venv/bin/python -m bench.ocr_numbers
	.venv/bin/python -m bench.number_mode
	.venv/bin/python -m bench.real

train: setup-train
	.venv/bin/python -m dataset build && .venv/bin/python -m ml train && .venv/bin/python -m ml evaluate

# Recompile the locks (requirements/*.txt, pinned with hashes) from requirements/*.in, in the order
# they constrain each other. Run after editing a .in file; commit the .in and .txt files together.
lock: setup-dev
	cd requirements && for profile in runtime train dev; do \
		../.venv/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
			--no-emit-index-url --no-emit-find-links $$profile.in -o $$profile.txt || exit 1; \
	done
