#!/usr/bin/env bash
# Runs the chatseal/stream tests (vitest + jsdom, the real stream-chat-react 14 components)
# against a real `chatseal-relay` on loopback (tests/with-directory.sh), and
# the built package in ../../../pkg (run `make pkg` first).
# Usage: tests/js/stream/run.sh PATH/TO/chatseal-relay [VITEST ARGS]
set -euo pipefail
server=$(realpath "${1:?usage: run.sh PATH/TO/chatseal-relay [VITEST ARGS]}")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"
[[ -f ../../../pkg/package.json ]] || { echo "run.sh: ../../../pkg is not built (make pkg)" >&2; exit 1; }
[[ -f ../../../pkg/stream.js ]] || { echo "run.sh: ../../../pkg has no stream.js (make pkg)" >&2; exit 1; }

# A real directory around the run (tests/with-directory.sh exports its URL).
if [[ -z "${CHATSEAL_TEST_DIRECTORY:-}" ]]; then
  exec ../../with-directory.sh "$server" "$here/run.sh" "$server" "${@:2}"
fi

# chatseal is installed as a packed copy of pkg/ (.npmrc: install-links), so a fresh
# install every run picks up the package as built now.
if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

status=0
npx vitest run --reporter=default --reporter=json \
    --outputFile.json="$work/results.json" "${@:2}" || status=$?
# One closing line in the plain form ("stream: N passed, N failed").
if [[ -f "$work/results.json" ]]; then
  node -e 'const r = require(process.argv[1]);
    console.log(`stream: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);' "$work/results.json"
fi
exit "$status"
