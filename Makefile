# kvpt: `make run` serves the viewer with the demo data; `make test` runs every test.
# Both install what is missing first (Debian 12, as root or with sudo).

SHELL := /bin/bash
# LibreOffice (Writer, no GUI) turns official reports into PDF; Liberation fonts stand in
# for Times New Roman, which the reports' layout names.
PKGS := postgresql-15 postgresql-15-postgis-3 libgdal-dev gdal-bin pkg-config chromium fonts-dejavu-core curl \
        libreoffice-writer-nogui fonts-liberation2
RELEASE := target/release/kvpt
DEBUG := target/debug/kvpt
# The throwaway clusters of `make test` and `make bench` (not the one `make run` uses) live
# under /tmp, which the unprivileged server user can always reach, one per checkout.
CHECKOUT_ID := $(shell id -u)-$(shell echo '$(CURDIR)' | cksum | cut -d' ' -f1)
TEST_VAR := $(or $(KVPT_TEST_DIR),/tmp/kvpt-make-test-$(CHECKOUT_ID))
BENCH_VAR := /tmp/kvpt-make-bench-$(CHECKOUT_ID)

.PHONY: run test test-tools bench bench-tools deps npm-web npm-browser build lint db-stop

## Installs the Debian packages kvpt needs, if any is missing.
deps:
	@missing=""; for p in $(PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "kvpt: installing$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  echo "kvpt: installing nodejs npm"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
	@command -v cargo >/dev/null || { echo "kvpt: cargo not found; install Rust (1.85 or newer) with rustup"; exit 1; }

# npm ci into a folder when its lock file is newer than what is installed.
define npm_ci
	@if [ ! -f $(1)/node_modules/.package-lock.json ] || [ $(1)/package-lock.json -nt $(1)/node_modules/.package-lock.json ]; then \
	  echo "kvpt: npm ci in $(1)"; (cd $(1) && npm ci --no-audit --no-fund --loglevel=error); fi
endef

## MapLibre GL JS, vendored from npm into web/ and embedded in the binary.
npm-web: deps
	$(call npm_ci,web)

## Playwright (driving Debian's Chromium) for the browser test.
npm-browser: deps
	$(call npm_ci,tests/browser)

## schemathesis (PyPI) for the property-based API test, and OWSLib, pyogrio and requests
## for the GIS clients' test, each in a virtualenv under target/; Debian's QGIS (PyQGIS, run
## headless) for the QGIS test; PgBouncer, built from Debian's source of the version Debian 13
## ships (Debian 12's 1.18 predates prepared statements in transaction mode), for the pooler test.
TEST_PKGS := python3-venv python3-qgis qgis-providers libevent-dev libssl-dev make gcc python3-docx poppler-utils
SCHEMATHESIS_VERSION := 4.32.5
# OWSLib 0.35 is the last to run on Debian 12's Python 3.11.
OWSLIB_VERSION := 0.35.0
# pyogrio's wheel carries GDAL 3.12 with its OGC API – Tiles reader (Debian's 3.6.2 has
# the vector part of that reader compiled out).
PYOGRIO_VERSION := 0.13.0
PGBOUNCER_VERSION := 1.24.1
PGBOUNCER_SHA256 := da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0
test-tools: deps
	@missing=""; for p in $(TEST_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "kvpt: installing$$missing for the tests"; \
	  if [ "$$(id -u)" = 0 ]; then s=; else s=sudo; fi; \
	  $$s apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$s apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
	@[ -x target/test-tools/schemathesis/bin/schemathesis ] && \
	  target/test-tools/schemathesis/bin/schemathesis --version | grep -q '$(SCHEMATHESIS_VERSION)' || { \
	  echo "kvpt: installing schemathesis $(SCHEMATHESIS_VERSION) for the API test"; \
	  rm -rf target/test-tools/schemathesis && mkdir -p target/test-tools && \
	  python3 -m venv target/test-tools/schemathesis && \
	  target/test-tools/schemathesis/bin/pip install -q schemathesis==$(SCHEMATHESIS_VERSION); }
	@[ -x target/test-tools/gis/bin/python ] && target/test-tools/gis/bin/python -c 'import owslib, requests, pyogrio; assert pyogrio.__version__ == "$(PYOGRIO_VERSION)"' 2>/dev/null || { \
	  echo "kvpt: installing OWSLib $(OWSLIB_VERSION) and pyogrio $(PYOGRIO_VERSION) for the GIS clients' test"; \
	  rm -rf target/test-tools/gis && mkdir -p target/test-tools && \
	  python3 -m venv target/test-tools/gis && \
	  target/test-tools/gis/bin/pip install -q owslib==$(OWSLIB_VERSION) pyogrio==$(PYOGRIO_VERSION) requests; }
	@[ -x target/test-tools/pgbouncer/bin/pgbouncer ] || { \
	  echo "kvpt: building PgBouncer $(PGBOUNCER_VERSION) from Debian's source for the pooler test"; \
	  rm -rf target/test-tools/pgbouncer-src && mkdir -p target/test-tools/pgbouncer-src && cd target/test-tools/pgbouncer-src && \
	  curl -fsSL -o pgbouncer.tar.gz http://deb.debian.org/debian/pool/main/p/pgbouncer/pgbouncer_$(PGBOUNCER_VERSION).orig.tar.gz && \
	  echo "$(PGBOUNCER_SHA256)  pgbouncer.tar.gz" | sha256sum -c --quiet && tar xzf pgbouncer.tar.gz && \
	  cd pgbouncer-$(PGBOUNCER_VERSION) && \
	  ./configure -q --prefix=$(CURDIR)/target/test-tools/pgbouncer --without-cares --without-systemd --without-pam >/dev/null && \
	  $(MAKE) -s -j2 >/dev/null && $(MAKE) -s install >/dev/null && cd $(CURDIR) && rm -rf target/test-tools/pgbouncer-src; }

build: npm-web
	cargo build --release --locked

## Builds, starts the embedded database under var/, loads the province and the
## demo data when empty, and serves on http://127.0.0.1:8080/ (KVPT_ADDR).
run: build
	$(RELEASE) serve --bootstrap

## Every test, against a throwaway PostgreSQL + PostGIS (or DATABASE_URL when set).
test: npm-web npm-browser test-tools
	@set -euo pipefail; \
	cargo build --locked --bin kvpt; \
	if [ -n "$${DATABASE_URL:-}" ]; then \
	  cargo test --locked; \
	else \
	  export KVPT_DATA_DIR=$(TEST_VAR) KVPT_PG_FAST=1; \
	  $(DEBUG) db start >/dev/null; \
	  trap '$(DEBUG) db stop >/dev/null' EXIT; \
	  DATABASE_URL="$$($(DEBUG) db url)" cargo test --locked; \
	fi

BENCH_TOOLS := target/bench-tools
MARTIN_VERSION := 1.14.0
PYGEOAPI_VERSION := 0.21.0

## What the benchmarks compare against: wrk and time (Debian), martin (crates.io, built once
## into target/bench-tools), pygeoapi with gunicorn (PyPI, in a virtualenv there).
bench-tools: deps
	@for p in wrk time; do dpkg -s $$p >/dev/null 2>&1 || { if [ "$$(id -u)" = 0 ]; then s=; else s=sudo; fi; \
	  $$s apt-get install -y -qq $$p >/dev/null; }; done
	@[ -x $(BENCH_TOOLS)/bin/martin ] || { echo "kvpt: building martin $(MARTIN_VERSION) for the tile benchmark (once)"; \
	  cargo install martin --version $(MARTIN_VERSION) --locked --no-default-features --features postgres --root $(BENCH_TOOLS); }
	@[ -x $(BENCH_TOOLS)/pygeoapi/bin/gunicorn ] || { echo "kvpt: installing pygeoapi $(PYGEOAPI_VERSION) for the items benchmark (once)"; \
	  python3 -m venv $(BENCH_TOOLS)/pygeoapi && \
	  $(BENCH_TOOLS)/pygeoapi/bin/pip install -q pygeoapi==$(PYGEOAPI_VERSION) gunicorn psycopg2-binary sqlalchemy geoalchemy2; }

## Benchmarks (never part of `make test`); results go to BENCHMARKS.md by hand.
## BENCH_LOAD_RUNS=1 shortens the demo-load part when only the serving figures are wanted.
bench: build bench-tools npm-browser
	@set -euo pipefail; \
	export KVPT_DATA_DIR=$(BENCH_VAR); unset DATABASE_URL; \
	$(RELEASE) db start >/dev/null; \
	trap '$(RELEASE) db standby stop >/dev/null; $(RELEASE) db stop >/dev/null' EXIT; \
	url="$$($(RELEASE) db url)"; bench_url="$${url/dbname=kvpt/dbname=bench}"; \
	echo "== demo load, 100 000 sites, $${BENCH_LOAD_RUNS:-5} runs (each into a fresh database)"; \
	for run in $$(seq 1 $${BENCH_LOAD_RUNS:-5}); do \
	  psql -X -q -v ON_ERROR_STOP=1 "$$url" -c "DROP DATABASE IF EXISTS bench WITH (FORCE)" -c "CREATE DATABASE bench"; \
	  DATABASE_URL="$$bench_url" $(RELEASE) geodata load >/dev/null 2>&1; \
	  DATABASE_URL="$$bench_url" /usr/bin/time -f "run $$run: %e s wall, %M KiB peak RSS" \
	    $(RELEASE) demo load --sites 100000 2>&1 | grep -v INFO; \
	done; \
	python3 bench/serve.py --kvpt $(RELEASE) --db "$$bench_url" \
	  --martin $(BENCH_TOOLS)/bin/martin --pygeoapi $(BENCH_TOOLS)/pygeoapi; \
	python3 bench/cql2.py --kvpt $(RELEASE) --db "$$bench_url" --pygeoapi $(BENCH_TOOLS)/pygeoapi; \
	python3 bench/tile_edits.py --kvpt $(RELEASE) --db "$$bench_url"; \
	python3 bench/tile_weight.py --kvpt $(RELEASE) --db "$$bench_url"; \
	python3 bench/tile_cold.py --kvpt $(RELEASE) --db "$$bench_url"; \
	$(RELEASE) db standby stop >/dev/null; rm -rf $(BENCH_VAR)/standby; $(RELEASE) db standby start >/dev/null; \
	standby_url="$$($(RELEASE) db standby url)"; \
	python3 bench/replicas.py --kvpt $(RELEASE) --db "$$bench_url" --standby "$${standby_url/dbname=kvpt/dbname=bench}" \
	  --primary-pgdata $(BENCH_VAR)/pg --standby-pgdata $(BENCH_VAR)/standby/pg; \
	$(RELEASE) db standby stop >/dev/null; \
	python3 bench/progress.py --kvpt $(RELEASE) --db "$$bench_url"; \
	python3 bench/export.py --kvpt $(RELEASE) --db "$$bench_url"; \
	python3 bench/import.py --kvpt $(RELEASE) --db "$$bench_url"; \
	python3 bench/field_sync.py --kvpt $(RELEASE) --db "$$bench_url"; \
	python3 bench/soak.py --kvpt $(RELEASE) --db "$$bench_url" --minutes $${BENCH_SOAK_MINUTES:-10}

lint:
	cargo fmt --check
	cargo clippy --locked --all-targets -- -D warnings

## Stops the embedded database of `make run` (it also stops when `kvpt serve` exits).
db-stop:
	$(RELEASE) db stop
