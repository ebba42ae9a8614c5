# Lectern: `make run` starts a server on the embedded defaults; `make test` proves it works.
# Both install what they need; nothing has to be set up by hand first.

CARGO ?= cargo
BIN_DEBUG := $(CURDIR)/target/debug/lectern
BIN_RELEASE := $(CURDIR)/target/release/lectern

.PHONY: run test build-deps lint build documents-deps media-deps unit interop web browser prosody lan android bench clean

## Build an optimised server and start it on the defaults (HTTP 127.0.0.1:8080, XMPP :5222).
run: build-deps
	$(CARGO) build --release --bin lectern
	@echo "Starting Lectern; the URL is printed below. Stop it with Ctrl-C."
	$(BIN_RELEASE) serve

## Everything that proves Lectern works: formatting, lints, unit and system tests, interop.
test: lint build unit interop web browser prosody lan android
	@echo "make test: all suites passed"

## What building needs beyond Rust: the system libopus (Opus for played audio files).
build-deps:
	@pkg-config --exists opus 2>/dev/null || { \
	  [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get install -y -q libopus-dev pkg-config; } || { \
	  echo "Lectern needs Debian's libopus-dev and pkg-config to build (apt-get install libopus-dev pkg-config)" >&2; exit 1; }

lint: build-deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Built once; the test suites below reuse these artifacts.
build: build-deps
	$(CARGO) build --workspace --all-targets

## What the documents tests need beyond Rust: LibreOffice, unoserver, poppler/mupdf (idempotent).
documents-deps:
	bash tests/documents/setup.sh

## What the audio tests need: espeak-ng and sox (fixtures), ffmpeg (other formats, decoding the
## recording), opus-tools (opusinfo checks the recording), libopus (idempotent).
media-deps:
	bash tests/audio/setup.sh

## Rust unit tests and the system tests that drive the real binary (tokio-xmpp, raw sockets).
unit: build documents-deps media-deps
	LECTERN_BIN=$(BIN_DEBUG) $(CARGO) test --workspace

## Third-party clients: slixmpp (Python) over TCP+STARTTLS, strophe.js (Node) over WebSocket.
interop: build
	LECTERN_OFFICE_WORKERS=0 LECTERN_BIN=$(BIN_DEBUG) bash tests/interop/run.sh

## The web client: JSDoc types (tsc --checkJs), protocol vectors and unit tests in Node.
web:
	cd web && npm ci --no-audit --no-fund --loglevel=error
	cd web && npx tsc -p tsconfig.json
	cd web && node --test tests/

## A whole meeting in Debian's Chromium (installs chromium with apt-get if missing).
browser: build
	LECTERN_OFFICE_WORKERS=0 LECTERN_BIN=$(BIN_DEBUG) bash tests/browser/run.sh

## The focus against Debian's Prosody (installs prosody with apt-get if missing), with slixmpp.
prosody: build
	LECTERN_OFFICE_WORKERS=0 LECTERN_BIN=$(BIN_DEBUG) bash tests/prosody/run.sh

## LAN pre-distribution across two network namespaces (needs root for `ip netns`).
lan: build
	LECTERN_OFFICE_WORKERS=0 LECTERN_BIN=$(BIN_DEBUG) bash tests/lan/run.sh

## The Android engine through its UniFFI boundary: Python bindings generated from the library
## drive a real server (join, a page turn, PCM).
android: build
	LECTERN_OFFICE_WORKERS=0 LECTERN_BIN=$(BIN_DEBUG) bash tests/android/run.sh

## Benchmarks: MUC fan-out and joins (Lectern, Prosody, ejabberd side by side), meeting latency,
## documents and voice, written to
## docs/BENCHMARKS.md (installs prosody and ejabberd from Debian; QUICK=1 for a short run).
bench:
	bash bench/run.sh

clean:
	$(CARGO) clean
	rm -rf tests/interop/.venv tests/interop/node_modules web/node_modules tests/browser/node_modules
