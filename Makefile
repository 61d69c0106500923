# chatseal — the commands the README promises. Each target installs what it needs, so
# a fresh machine (Rust via rustup, Debian) runs them as they are.
#
#   make test     everything CI checks: format, lints (native and wasm32), unit, property,
#                 vector and doc tests, the independent Python check of the vectors,
#                 and the release build of the crate for wasm32.
#   make bench    criterion benchmarks of the protocol core (prints figures; asserts nothing)
#   make vectors  regenerate tests/vectors/*.json from their fixed inputs (review the diff)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
WASM_TARGET := wasm32-unknown-unknown
TOOLS := $(CURDIR)/.tools
PYENV := $(TOOLS)/pyenv
PYTHON ?= python3

.PHONY: test setup rust-setup py-setup fmt-check clippy unit-tests doc-check independent wasm bench vectors clean

test: setup fmt-check clippy unit-tests doc-check independent wasm
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
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --lib --target $(WASM_TARGET) -- -D warnings

unit-tests:
	$(CARGO) test

doc-check:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --lib

independent: py-setup
	$(PYENV)/bin/python tests/independent/verify_vectors.py tests/vectors

wasm:
	$(CARGO) build --lib --release --target $(WASM_TARGET)
	@ls -l target/$(WASM_TARGET)/release/chatseal.wasm

bench:
	$(CARGO) bench --bench proto

vectors:
	$(CARGO) run --example gen_vectors

clean:
	$(CARGO) clean
	rm -rf $(TOOLS)
