# One place for the project's commands. `make help` lists them.
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help setup demo test lint check train train-real clean

help:  ## list the commands
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

setup:  ## install Debian packages and the .venv (idempotent)
	@tools/bootstrap.sh

demo: setup  ## run the unit on its embedded demo defaults
	@tools/demo.sh

test: setup  ## run the test suite (starts its own Mosquitto)
	$(BIN)/pytest -q

lint: setup  ## ruff (lint and format), mypy
	$(BIN)/ruff check edge tests tools training bench
	$(BIN)/ruff format --check edge tests tools training bench
	$(BIN)/mypy

check: lint test  ## lint, then tests

train:  ## retrain both models from synthetic data (TensorFlow; ~1.5 h on 2 cores), then the real-data candidate
	@tools/train.sh

train-real:  ## only the real + synthetic candidates (recogniser, then detector) in training/runs/candidates* (~2 h, one core)
	@REAL_DATA=$(or $(REAL_DATA),/work/data/real-train) tools/train.sh recogniser-real
	@REAL_DATA=$(or $(REAL_DATA),/work/data/real-train) tools/train.sh detector-real

clean:  ## remove the demo state and caches (keeps .venv)
	rm -rf var .pytest_cache .ruff_cache

.PHONY: install uninstall

install:  ## install the unit as a hardened systemd service (sudo make install; docs/install.md)
	systemd/install.sh

uninstall:  ## remove the service, keeping /etc/anpr-edge and the stored reads (sudo)
	systemd/install.sh --uninstall

.PHONY: test-faults soak

test-faults: setup  ## the long fault tests: 10 broker outages, 50 SIGKILLs, quota while running
	ANPR_EDGE_LONG_TESTS=1 $(BIN)/pytest -q -s tests/system/faults/

soak: setup  ## run the unit SOAK_MINUTES (60) on the synthetic road; memory, fds, threads to var/soak
	$(BIN)/python tools/soak.py

.PHONY: memory

memory: setup  ## peak resident memory of the unit, start to stop, on the demo config and in `anpr-edge bench` (limit 300 MB); ~4 min
	nice $(BIN)/python tools/memory.py

.PHONY: arm64-check

arm64-check: setup  ## install and run the unit in an emulated arm64 Pi root; ~15 min, needs root (docs/arm64-check.md)
	tools/arm64-check.sh --record

.PHONY: bench-report

bench-report: setup  ## measure the unit (vision, pipeline, latency, hotlist 1M+10M, drain, memory) into docs/benchmarks.{json,md}; ~6 min on 2 cores
	nice $(BIN)/python -m bench.report --out docs/benchmarks $(BENCH_ARGS)

.PHONY: real-data

real-data: setup  ## build the real training set (fetch + reserved check + teacher labels; data outside the repo)
	nice $(BIN)/python -m training.real_data build --out $(or $(REAL_DATA),/work/data/real-train)

.PHONY: fleet fleet-small

fleet: setup  ## the fleet simulation: FLEET_UNITS (200) units, one Mosquitto, the centre into PostgreSQL; figures to var/fleet.json (~40 min on 2 cores)
	nice $(BIN)/python -m edge.devtools.fleet --units $(or $(FLEET_UNITS),200) --out $(or $(FLEET_OUT),var/fleet.json) $(FLEET_ARGS)

fleet-small: setup  ## the same at 5 units with short scenarios (~2 min)
	$(BIN)/python -m edge.devtools.fleet --units 5 --workers 1 --steady-s 20 --snapshot-entries 100000 --snapshot-units 2 --stall-s 10 --outage-s 10
