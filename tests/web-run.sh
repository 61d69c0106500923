#!/usr/bin/env bash
# Runs the browser tests (tests/web/) in headless Chromium against a real
# `chatseal-relay` on loopback (tests/with-directory.sh; its URL is baked into the
# test build as CHATSEAL_TEST_DIRECTORY).
# Usage: tests/web-run.sh PATH/TO/chatseal-relay PATH/TO/wasm-bindgen-test-runner [CARGO ARGS]
# e.g. `... --release -- decrypt_and_verify --nocapture` for the release-build timing alone.
set -euo pipefail
server=${1:?usage: web-run.sh SERVER RUNNER}
runner=${2:?usage: web-run.sh SERVER RUNNER}
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER="$runner"
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-120}
exec "$(dirname "$0")/with-directory.sh" "$server" \
    cargo test -p chatseal --target wasm32-unknown-unknown --test web "${@:3}"
