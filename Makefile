# trimap: the two commands a newcomer needs are `make run` and `make test`.
#
# Both install what is missing and nothing more: Debian packages through
# apt-get (service start-up blocked while installing, so no system-wide
# Dovecot or Redis appears as a side effect), then a virtualenv in .venv with
# the project installed in editable mode.  Stamp files make reruns cheap.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
TEST_PACKAGES := dovecot-imapd dovecot-lmtpd redis-server curl
PYTEST_ARGS ?=

.PHONY: run test lint format clean

# apt-get install the named Debian packages that are not installed yet.
define ensure_packages
missing=""; for pkg in $(1); do \
  dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
done; \
if [ -n "$$missing" ]; then \
  echo "installing Debian packages:$$missing"; \
  policy=/usr/sbin/policy-rc.d; made_policy=""; \
  if [ ! -e $$policy ]; then printf '#!/bin/sh\nexit 101\n' > $$policy; chmod +x $$policy; made_policy=1; fi; \
  export DEBIAN_FRONTEND=noninteractive; \
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; }; status=$$?; \
  [ -z "$$made_policy" ] || rm -f $$policy; \
  [ $$status -eq 0 ]; \
fi
endef

$(VENV)/bin/python:
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { $(call ensure_packages,python3-venv); }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[test]'
	@touch $@ $(RUN_STAMP)

# Serve trimap on 127.0.0.1:3000 against redis://127.0.0.1:6379/8; when no Redis
# answers there, trimap runs a private redis-server under ./data/redis, so
# redis-server is installed only in that case.
run: $(RUN_STAMP)
	@$(BIN)/python -c 'import redis; redis.Redis(socket_connect_timeout=1).ping()' 2>/dev/null \
	  || command -v redis-server >/dev/null || { $(call ensure_packages,redis-server); }
	$(BIN)/trimap

test: $(TEST_STAMP)
	@$(call ensure_packages,$(TEST_PACKAGES))
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(TEST_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
