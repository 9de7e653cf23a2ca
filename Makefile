# Two commands do all set-up: `make run` (portal) and `make test` (whole suite). `make bench` measures.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test bench bench-check install install-test system-packages clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

static/vendor/.copied: node_modules/.package-lock.json
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	cp node_modules/@picocss/pico/css/pico.min.css static/vendor/pico.min.css
	mkdir -p static/vendor/three
	cp node_modules/three/build/three.module.js node_modules/three/build/three.core.js static/vendor/three/
	# The add-ons import the bare name 'three'; an import map would be an inline script, which our CSP forbids.
	for f in loaders/STLLoader controls/OrbitControls; do \
	  sed "s#from 'three';#from './three.module.js';#" node_modules/three/examples/jsm/$$f.js \
	    > static/vendor/three/$$(basename $$f).js; done
	touch $@

# Languages: the checked-in catalogues compiled to .mo (git-ignored) at set-up; `make messages` re-extracts them.
CATALOGUES := $(wildcard portal/locale/*/LC_MESSAGES/messages.po)

portal/locale/%/LC_MESSAGES/messages.mo: portal/locale/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel --quiet compile -D messages -i $< -o $@ -l $*

messages: $(VENV)/.installed
	$(BIN)/pybabel --quiet extract -F babel.cfg -k lazy_gettext -k lazy_pgettext:1c,2 --add-location=file \
	  --sort-output --project=Chairside -o portal/locale/messages.pot .
	$(BIN)/pybabel --quiet update -D messages -i portal/locale/messages.pot -d portal/locale --ignore-obsolete

install: $(VENV)/.installed static/vendor/.copied $(CATALOGUES:.po=.mo)

install-test: install $(VENV)/.installed-test

# Debian packages the suite needs, installed when missing: chromium for the browser journeys (Playwright never
# downloads a browser here) and the PostgreSQL server for tests/test_scale_out.py (the embedded server stays the
# default for everything else), and DejaVu fonts for PDFs in every language (portal/documents/pdf.py).
system-packages:
	@missing=""; test -x /usr/bin/chromium || missing=chromium; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || missing="$$missing fonts-dejavu-core"; \
	test -z "$$missing" || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; }

run: install
	HOST=$(HOST) PORT=$(PORT) $(BIN)/portal serve --with-worker --dev-mail $(if $(DEMO),--demo,)

test: install-test system-packages
	$(BIN)/pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/pip install -q -e '.[bench]'
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.jobs
	$(BIN)/python -m bench.privacy_export
	$(BIN)/python -m bench.invoicing

# Before committing a change to a hot path: a fresh run, then every ratio against the committed results.
bench-check: bench
	$(BIN)/python -m bench.check

clean:
	rm -rf $(VENV) node_modules static/vendor
