# Two commands: `make demo` (set up, then launch the app) and `make test` (set up, then pytest).
# Both are idempotent: each step is skipped when it is already done.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYOPENGL_PLATFORM := egl

.PHONY: setup system-packages rig demo test bench clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

# Debian packages from packages.txt (the app's; Hugging Face Spaces reads it too) and, for the tests,
# packages-dev.txt: installed when run as root, else named in a clear error.
PACKAGE_LISTS := packages.txt
test: PACKAGE_LISTS := packages.txt packages-dev.txt

system-packages:
	@command -v dpkg >/dev/null || { echo "No dpkg here: install the packages in $(PACKAGE_LISTS) by hand." >&2; exit 0; }; \
	missing=$$(for p in $$(cat $(PACKAGE_LISTS) | grep -v '^#'); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing Debian packages: $$(echo $$missing). Install them with: sudo apt-get install $$(echo $$missing)" >&2; exit 1; \
	  fi; \
	fi

# The head rig, cached under $$EXPCLIP_CACHE (default ~/.cache/expclip); from $$EXPCLIP_ASSET_MIRROR or a download.
rig: $(STAMP)
	$(PY) -m render rig

setup: system-packages $(STAMP) rig

demo: setup
	$(PY) app.py

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) -m benchmarks

clean-venv:
	rm -rf $(VENV)
