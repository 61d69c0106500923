#!/usr/bin/env bash
# Runs the browser tests (tests/web.rs) in headless Chromium against a real
# `chatseal-server demo` on loopback, started here and stopped on exit.
# Usage: tests/web-run.sh PATH/TO/chatseal-server PATH/TO/wasm-bindgen-test-runner [CARGO ARGS]
# e.g. `... --release -- decrypt_and_verify_timing` for the release-build timing alone.
set -euo pipefail
server=${1:?usage: web-run.sh SERVER RUNNER}
runner=${2:?usage: web-run.sh SERVER RUNNER}
work=$(mktemp -d)
"$server" demo --listen 127.0.0.1:0 --db "sqlite://$work/web.db" --rate-ip 0 --rate-identity 0 \
    >"$work/out" 2>"$work/log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$work/out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/out")
[[ -n "$url" ]] || { echo "web-run: the demo server did not start:" >&2; cat "$work/log" >&2; exit 1; }
echo "web-run: directory at $url" >&2
export CHATSEAL_TEST_DIRECTORY="$url"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER="$runner"
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-120}
cargo test -p chatseal --target wasm32-unknown-unknown --test web "${@:3}"
