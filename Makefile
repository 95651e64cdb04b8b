# One place for the project's commands. `make help` lists them.
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help setup demo test lint check train clean

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup:  ## install Debian packages and the .venv (idempotent)
	@tools/bootstrap.sh

demo: setup  ## run the unit on its embedded demo defaults
	@tools/demo.sh

test: setup  ## run the test suite (starts its own Mosquitto)
	$(BIN)/pytest -q

lint: setup  ## ruff
	$(BIN)/ruff check edge tests tools training

check: lint test  ## lint, then tests

train:  ## retrain both models from synthetic data (TensorFlow; ~1.5 h on 2 cores)
	@tools/train.sh

clean:  ## remove the demo state and caches (keeps .venv)
	rm -rf var .pytest_cache .ruff_cache

.PHONY: install uninstall

install:  ## install the unit as a hardened systemd service (sudo make install; docs/install.md)
	systemd/install.sh

uninstall:  ## remove the service, keeping /etc/anpr-edge and the stored reads (sudo)
	systemd/install.sh --uninstall
