# chatseal — the commands the README promises. Each target installs what it needs, so
# a fresh machine (Rust via rustup, Debian) runs them as they are.
#
#   make test     everything CI checks: format, lints (native and wasm32), unit, property,
#                 vector and doc tests, the independent Python check of the vectors, the
#                 server's tests against SQLite and a throwaway PostgreSQL (installed from
#                 Debian when absent), the CLI walkthrough, the wasm32 packages (make pkg)
#                 with the low-level API tested in Node 20, the packaging tests, the
#                 type tests (the shipped JS against its .d.ts, and a strict TypeScript
#                 consumer of the README's API), the stream-chat-react adapter against
#                 the demo's chat relay, the Matrix adapter against a local Synapse (from
#                 PyPI), ChatSeal in headless Chromium against a real directory, and the
#                 demo end to end.
#   make demo     the tutorial's encrypted chat app on http://127.0.0.1:8787 (no accounts)
#   make server   the chatseal-server binary, optimised (target/server/chatseal-server)
#   make relay    the demo's backend, chatseal-relay (chat relay + directory), optimised
#   make bench    chatseal side by side with virgil-crypto and libsodium-wrappers in headless
#                 Chromium and Node 20 (prints the ratio table; asserts nothing)
#   make bench-proto  criterion benchmarks of the protocol core, native
#   make bench-server  load benchmark of the directory with wrk (prints figures)
#   make bench-floor  PROTOCOL's primitives alone beside chatseal's and libsodium's decrypt
#   make fuzz     every fuzz target for FUZZ_SECONDS each (nightly; minutes per target)
#   make pkg      the npm package in pkg/ (wasm32 build, wasm-bindgen, wasm-opt)
#   make wasm     the bare release .wasm, for a size check
#   make vectors  regenerate tests/vectors/*.json from their fixed inputs (review the diff)
#
# Each part of `make test` is a target of its own (fmt-check, clippy, unit-tests, web-test,
# e2e-test, …; the list is `test:` below), and docs/TESTING.md says what each one checks.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
WASM_TARGET := wasm32-unknown-unknown
TOOLS := $(CURDIR)/.tools
PYENV := $(TOOLS)/pyenv
PYTHON ?= python3
# The wasm-bindgen CLI must be the version of the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/^version = "\(.*\)"/\1/p;}' Cargo.lock)
WASM_BINDGEN := $(TOOLS)/cargo/bin/wasm-bindgen
WASM_OPT := $(TOOLS)/node/node_modules/.bin/wasm-opt
ESBUILD := $(TOOLS)/node/node_modules/.bin/esbuild
empty :=
space := $(empty) $(empty)
# Packaging settings live in wasm-pack.toml.
PKG_TARGETS := $(shell sed -n 's/^targets *= *\[\(.*\)\]/\1/p' wasm-pack.toml | tr -d '",')
WASM_OPT_FLAGS := $(shell sed -n 's/^wasm-opt *= *"\(.*\)"/\1/p' wasm-pack.toml)

.PHONY: demo www-build e2e-test matrix-test test setup rust-setup py-setup browser-setup web-test wasm-bindgen-cli node-tools fmt-check clippy unit-tests cli-walkthrough doc-check independent wasm pkg node-test pkg-test types-test stream-test server relay bench bench-floor bench-server vectors bench-proto fuzz clean

# The debug binaries that the scripts below drive. A target run alone builds the one it
# needs. Under `make test`, `unit-tests` has just built both for `cargo test --workspace`,
# with the features the whole workspace and its dev-dependencies ask for; `cargo build -p X`
# resolves features for X alone, and compiled the server, the relay and a good part of
# their dependencies a second and a third time (5 minutes in a clean run). So `make test`
# asks for that same build, which is then already done.
debug_bin = $(CARGO) build -p $(1)
test: debug_bin = $(CARGO) build --workspace --bins --tests

test: setup fmt-check clippy unit-tests cli-walkthrough doc-check independent pkg node-test pkg-test types-test stream-test matrix-test web-test e2e-test
	@echo "make test: all checks passed"

setup: rust-setup py-setup

rust-setup:
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' || rustup target add $(WASM_TARGET)
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

# The independent implementation that re-derives every vector from PROTOCOL.md alone.
py-setup: $(PYENV)/.installed
$(PYENV)/.installed: tests/independent/requirements.txt
	$(PYTHON) -m venv $(PYENV)
	$(PYENV)/bin/pip install --quiet --disable-pip-version-check -r tests/independent/requirements.txt
	touch $@

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p chatseal --lib --target $(WASM_TARGET) --no-default-features -- -D warnings
	$(CARGO) clippy -p chatseal --test web --target $(WASM_TARGET) -- -D warnings

# The whole workspace; the server's tests run against SQLite and a PostgreSQL cluster
# that with-postgres.sh starts on loopback (and removes) around them.
unit-tests:
	server/tests/with-postgres.sh $(CARGO) test --workspace

# A script that knows only the CLI and PROTOCOL §6–§7 drives the server.
cli-walkthrough:
	$(call debug_bin,chatseal-server)
	server/tests/cli-walkthrough.sh target/debug/chatseal-server

doc-check:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --workspace --lib

independent: py-setup
	$(PYENV)/bin/python tests/independent/verify_vectors.py tests/vectors

wasm:
	$(CARGO) build -p chatseal --lib --release --target $(WASM_TARGET) --no-default-features
	@ls -l target/$(WASM_TARGET)/release/chatseal.wasm

# The wasm-bindgen CLI at the locked version: reuse one on PATH if it matches, else
# install it into .tools/ (cargo install without --locked: the CLI's own lockfile pins a
# crate version that a registry mirror may lack).
wasm-bindgen-cli:
	@if [ "$$($(WASM_BINDGEN) --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	  if [ "$$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	    mkdir -p $(TOOLS)/cargo/bin && ln -sf "$$(command -v wasm-bindgen)" $(WASM_BINDGEN); \
	  else \
	    $(CARGO) install wasm-bindgen-cli --version =$(WASM_BINDGEN_VERSION) --root $(TOOLS)/cargo; \
	  fi; \
	fi

# binaryen's wasm-opt (an emscripten build run by Node; nothing to download).
NODE_TOOLS := binaryen@132.0.0 esbuild@0.28.2
NODE_STAMP := $(TOOLS)/node/.installed-$(subst @,-,$(subst $(space),+,$(NODE_TOOLS)))
node-tools: $(NODE_STAMP)
$(NODE_STAMP):
	mkdir -p $(TOOLS)/node
	cd $(TOOLS)/node && { [ -f package.json ] || echo '{"private": true}' > package.json; } \
	  && npm install --no-audit --no-fund --silent $(NODE_TOOLS)
	touch $@

# The npm package in pkg/: wasm-bindgen's three targets, each optimised with wasm-opt
# (pkg/web, pkg/bundler, pkg/nodejs), the entries and types of pkg-template/, and
# chatseal.standalone.js (one ES module with the WebAssembly inside, for pages without a
# bundler). `npm pack ./pkg` gives the tarball users install.
PKG_FILES := package.json index.js index.mjs index.cjs index.d.ts facade.js react.js react.d.ts \
  element.js element.d.ts labels.js stream.js stream.d.ts stream-composer.js stream-uploads.js \
  stream-attachments.js stream-messages.js stream-files.js stream-shim.js matrix.js matrix.d.ts \
  widget.js widget.d.ts widget-keys.js widget-labels.js widget-style.js
# Rebuilt only when its inputs change (pkg/.built), so `make demo` starts again in seconds.
PKG_INPUTS := $(shell find src pkg-template -type f) Cargo.toml Cargo.lock wasm-pack.toml README.md
pkg: pkg/.built
pkg/.built: $(PKG_INPUTS) | rust-setup wasm-bindgen-cli node-tools
	$(CARGO) build -p chatseal --lib --release --target $(WASM_TARGET) --no-default-features
	rm -rf pkg && mkdir -p pkg
	for t in $(PKG_TARGETS); do \
	  $(WASM_BINDGEN) --target $$t --out-dir pkg/$$t target/$(WASM_TARGET)/release/chatseal.wasm; \
	  $(WASM_OPT) $(WASM_OPT_FLAGS) pkg/$$t/chatseal_bg.wasm -o pkg/$$t/chatseal_bg.wasm; \
	done
	for f in $(PKG_FILES); do [ ! -f pkg-template/$$f ] || cp pkg-template/$$f pkg/; done
	# pkg/ is "type": "module"; the nodejs build is CommonJS that requires ES-module
	# snippets (require(esm): Node >= 20.19).
	echo '{ "type": "commonjs" }' > pkg/nodejs/package.json
	for d in pkg/nodejs/snippets/*/; do echo '{ "type": "module" }' > $$d/package.json; done
	cp README.md pkg/
	node -e 'const f="pkg/package.json",p=require("./"+f);p.version=process.argv[1];require("fs").writeFileSync(f,JSON.stringify(p,null,2)+"\n")' \
	  "$$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -1)"
	node -e 'process.stdout.write("export default \""+require("fs").readFileSync("pkg/web/chatseal_bg.wasm").toString("base64")+"\";\n")' \
	  > pkg/wasm-base64.js
	cp pkg-template/standalone.js pkg/standalone.js
	$(ESBUILD) pkg/standalone.js --bundle --format=esm --minify --alias:chatseal=./pkg/index.js \
	  --log-level=warning --outfile=pkg/chatseal.standalone.js
	rm pkg/standalone.js pkg/wasm-base64.js
	@for t in $(PKG_TARGETS); do \
	  printf '%-8s chatseal_bg.wasm %7d bytes, gzip -9 %7d bytes\n' $$t \
	    $$(wc -c < pkg/$$t/chatseal_bg.wasm) $$(gzip -9c pkg/$$t/chatseal_bg.wasm | wc -c); \
	done
	@printf 'browser download (web/chatseal.js + index.js + wasm), gzip -9: %d bytes\n' \
	  $$(cat pkg/index.js pkg/web/chatseal.js $$(find pkg/web/snippets -name "*.js") pkg/web/chatseal_bg.wasm | gzip -9c | wc -c)
	@printf 'chatseal.standalone.js %d bytes, gzip -9 %d bytes\n' \
	  $$(wc -c < pkg/chatseal.standalone.js) $$(gzip -9c pkg/chatseal.standalone.js | wc -c)
	touch $@

# Debian's Chromium and ChromeDriver for the browser tests (never a downloaded browser).
browser-setup:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

# ChatSeal in headless Chromium (wasm-bindgen-test) against a real `chatseal-relay`.
web-test: rust-setup browser-setup wasm-bindgen-cli
	$(call debug_bin,chatseal-relay)
	tests/web-run.sh target/debug/chatseal-relay $(TOOLS)/cargo/bin/wasm-bindgen-test-runner

# The low-level API from pkg/nodejs under Node (node:test), by require and import.
node-test: pkg
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error
	node --test tests/node/

# chatseal/stream with the real stream-chat-react 14 components (vitest + jsdom) against a
# real `chatseal-relay` (directory and chat relay); includes the README's example, run
# as written.
stream-test: pkg
	$(call debug_bin,chatseal-relay)
	tests/js/stream/run.sh target/debug/chatseal-relay

# chatseal/matrix with matrix-js-sdk 36.2.0 (Node 20) against a real Synapse homeserver on
# loopback (matrix-synapse from PyPI, installed once into .tools/synapse) and a real directory.
matrix-test: pkg
	$(call debug_bin,chatseal-relay)
	tests/js/matrix/run.sh target/debug/chatseal-relay

# The npm package as users get it: `npm pack`, installed into fresh Node, Vite + React
# apps (tests/pkg/fixtures), built, and checked in headless Chromium.
pkg-test: pkg browser-setup
	$(call debug_bin,chatseal-relay)
	tests/pkg/run.sh target/debug/chatseal-relay

# The types (tests/types, TypeScript 7 with the versions of stream-chat, stream-chat-react
# and matrix-js-sdk the adapters' tests use): pkg/'s JavaScript, every file `// @ts-check`,
# checked against its own .d.ts; then consumer.tsx, the README's integrations written in
# strict TypeScript against the installed package; then the same with library checking on,
# where only errors in chatseal's own .d.ts count (the SDKs' published types have some).
TSC := node_modules/.bin/tsc
types-test: pkg
	cd tests/types && npm ci --no-audit --no-fund --loglevel=error
	cd tests/types && $(TSC) -p tsconfig.js.json
	cd tests/types && $(TSC) -p tsconfig.json
	mkdir -p target && { (cd tests/types && $(TSC) -p tsconfig.json --skipLibCheck false) || true; } > target/types-libcheck.log
	! grep -A3 '^node_modules/chatseal/' target/types-libcheck.log
	@echo "types-test: pkg/*.js match their declarations; consumer.tsx compiles (strict)"

# The demo end to end (www/e2e): people in headless Chromium sign in, chat, edit, reload and
# restore against a real `chatseal-relay` serving www/dist; the database and every
# frame on the wire are checked for plaintext. Screenshots in target/e2e/.
e2e-test: www-build browser-setup
	$(call debug_bin,chatseal-relay)
	www/e2e/run.sh target/debug/chatseal-relay

server:
	$(CARGO) build -p chatseal-server --profile server
	@ls -l target/server/chatseal-server

# The demo's backend (relay/: the chat relay and session endpoints, with the directory),
# optimised like the server.
relay:
	$(CARGO) build -p chatseal-relay --profile server
	@ls -l target/server/chatseal-relay

# The demo: the tutorial's encrypted chat (www/, built against pkg/ as a user installs it)
# served with the directory and the local chat relay by one `chatseal-relay`, on
# SQLite in $(DEMO_DB). Ctrl-C stops it; the next run reuses everything already built.
DEMO_LISTEN ?= 127.0.0.1:8787
DEMO_DB ?= sqlite://chatseal-demo.db
WWW_INPUTS := $(shell find www/src www/public www/portal -type f 2>/dev/null) www/index.html www/vite.config.js
demo: www/dist/index.html relay
	@echo "make demo: starting; Ctrl-C stops it (the chat history stays in $(DEMO_DB))"
	@echo "  the React demo:        http://$(DEMO_LISTEN)/"
	@echo "  the patient portal:    http://$(DEMO_LISTEN)/portal/  (<chatseal-chat>, no framework, no bundler)"
	target/server/chatseal-relay --listen $(DEMO_LISTEN) --db $(DEMO_DB) --www www/dist

www-build: www/dist/index.html
www/node_modules/.installed: www/package.json www/package-lock.json pkg/.built
	cd www && npm ci --no-audit --no-fund --loglevel=error
	touch $@
# The portal (www/portal/) goes into dist/portal/ with the files its import map names.
www/dist/index.html: www/node_modules/.installed $(WWW_INPUTS) | node-tools
	cd www && npm run build --silent
	www/portal/build.sh $(ESBUILD)

# The side-by-side benchmark (benches/browser): chatseal, virgil-crypto 5.1.2 and
# libsodium-wrappers in headless Chromium and Node 20, the decrypt queue's longest task and
# the download sizes; prints the ratio table (also target/bench/browser.md and .json).
bench: pkg browser-setup
	$(call debug_bin,chatseal-relay)
	benches/browser/run.sh target/debug/chatseal-relay

# The floor under the benchmark's per-message times and download (issue 7): PROTOCOL's
# primitives alone, from the same crates and release profile as pkg/ (benches/floor),
# timed in Node beside chatseal's and libsodium's whole decrypt; gzip sizes beside pkg/.
FLOOR := target/floor
bench-floor: pkg browser-setup
	benches/browser/install.sh
	$(CARGO) build -q -p chatseal-floor --release --target $(WASM_TARGET)
	for t in nodejs web; do \
	  rm -rf $(FLOOR)/$$t && \
	  $(WASM_BINDGEN) --target $$t --out-dir $(FLOOR)/$$t target/$(WASM_TARGET)/release/chatseal_floor.wasm && \
	  $(WASM_OPT) $(WASM_OPT_FLAGS) $(FLOOR)/$$t/chatseal_floor_bg.wasm -o $(FLOOR)/$$t/chatseal_floor_bg.wasm || exit 1; \
	done
	node benches/floor/run.mjs $(CURDIR)/$(FLOOR)/nodejs $(CURDIR)/$(FLOOR)/web

# The fuzzers (cargo-fuzz, libFuzzer, nightly): every target of fuzz/ for FUZZ_SECONDS
# each, from the seeds that server/examples/fuzz_seeds.rs writes. A crash or timeout is
# copied into tests/fuzz-regressions/<target>/ (replayed by `make test` from then on) and
# fails the run. Not part of `make test`: minutes per target. Built without a sanitizer
# (`-s none`): both crates forbid unsafe code, and AddressSanitizer cut the executions a
# second several times over for what it could find in safe Rust.
FUZZ_SECONDS ?= 300
FUZZ_TARGETS := card envelope group backup sessions jwt json_bodies pairwise passkey link
CARGO_FUZZ := $(TOOLS)/cargo/bin/cargo-fuzz
fuzz:
	rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	[ -x $(CARGO_FUZZ) ] || $(CARGO) install cargo-fuzz --version =0.13.2 --locked --root $(TOOLS)/cargo
	$(CARGO) run -q -p chatseal-server --example fuzz_seeds
	mkdir -p target/fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  rm -rf fuzz/artifacts/$$t; \
	  status=0; \
	  PATH=$(TOOLS)/cargo/bin:$$PATH cargo +nightly fuzz run -s none $$t fuzz/corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    > target/fuzz/$$t.log 2>&1 || status=$$?; \
	  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' target/fuzz/$$t.log | sed "s/^/  $$t /"; \
	  if ls fuzz/artifacts/$$t/* >/dev/null 2>&1; then \
	    mkdir -p tests/fuzz-regressions/$$t; cp fuzz/artifacts/$$t/* tests/fuzz-regressions/$$t/; \
	    echo "fuzz $$t: found $$(ls fuzz/artifacts/$$t | wc -l) failing input(s), copied to tests/fuzz-regressions/$$t/ (log: target/fuzz/$$t.log)"; \
	    exit 1; \
	  fi; \
	  [ $$status -eq 0 ] || { echo "fuzz $$t failed (log: target/fuzz/$$t.log)"; exit 1; }; \
	done

# criterion benchmarks of the protocol core, native.
bench-proto:
	$(CARGO) bench -p chatseal --bench proto

# Card lookups (2 identities per request) from wrk against the SQLite default.
bench-server: server
	server/bench/load.sh target/server/chatseal-server 20 32

vectors:
	$(CARGO) run --example gen_vectors

clean:
	$(CARGO) clean
	rm -rf $(TOOLS)
