#!/usr/bin/env bash
# Runs the chatseal/stream tests (vitest + jsdom, the real stream-chat-react 14 components)
# against a real `chatseal-server demo` on loopback, started here and stopped on exit, and
# the built package in ../../../pkg (run `make pkg` first).
# Usage: tests/js/stream/run.sh PATH/TO/chatseal-server [VITEST ARGS]
set -euo pipefail
server=$(realpath "${1:?usage: run.sh PATH/TO/chatseal-server [VITEST ARGS]}")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"
[[ -f ../../../pkg/package.json ]] || { echo "run.sh: ../../../pkg is not built (make pkg)" >&2; exit 1; }
[[ -f ../../../pkg/stream.js ]] || { echo "run.sh: ../../../pkg has no stream.js (make pkg)" >&2; exit 1; }

# chatseal is installed as a packed copy of pkg/ (.npmrc: install-links), so a fresh
# install every run picks up the package as built now.
if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi

work=$(mktemp -d)
"$server" demo --listen 127.0.0.1:0 --db "sqlite://$work/stream.db" --rate-ip 0 --rate-identity 0 \
    >"$work/out" 2>"$work/log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$work/out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/out")
[[ -n "$url" ]] || { echo "run.sh: the demo server did not start:" >&2; cat "$work/log" >&2; exit 1; }
echo "run.sh: directory at $url" >&2

status=0
CHATSEAL_TEST_DIRECTORY="$url" npx vitest run --reporter=default --reporter=json \
    --outputFile.json="$work/results.json" "${@:2}" || status=$?
# One closing line in the plain form ("stream: N passed, N failed").
if [[ -f "$work/results.json" ]]; then
  node -e 'const r = require(process.argv[1]);
    console.log(`stream: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);' "$work/results.json"
fi
exit "$status"
