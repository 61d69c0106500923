#!/usr/bin/env bash
# The demo's end-to-end tests: starts `chatseal-relay` serving the built app
# (www/dist) on loopback with a throwaway SQLite database (tests/with-directory.sh), then
# drives it in headless Chromium with Playwright. Screenshots go to $E2E_ARTIFACTS
# (default target/e2e/).
# Usage: www/e2e/run.sh PATH/TO/chatseal-relay [node --test args]
set -euo pipefail
server=$(realpath "${1:?usage: run.sh PATH/TO/chatseal-relay}")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ -f "$root/www/dist/index.html" ]] || { echo "run.sh: www/dist is not built (make www-build)" >&2; exit 1; }
if [[ -z "${CHATSEAL_TEST_DIRECTORY:-}" ]]; then
  export WITH_DIRECTORY_ARGS="--www $root/www/dist"
  exec "$root/tests/with-directory.sh" "$server" "$here/run.sh" "$server" "${@:2}"
fi
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
export E2E_ARTIFACTS="${E2E_ARTIFACTS:-$root/target/e2e}"
rm -rf "$E2E_ARTIFACTS" && mkdir -p "$E2E_ARTIFACTS"
node --test --test-reporter=spec "${@:2}" "$here"/*.test.mjs
echo "e2e: screenshots in $E2E_ARTIFACTS"
