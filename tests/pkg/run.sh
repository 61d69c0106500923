#!/usr/bin/env bash
# Packaging tests: `npm pack ./pkg`, then install the tarball into fresh fixture apps the
# way a user would, build them, and check in headless Chromium that they show a
# decrypted message (against a real `chatseal-relay`, tests/with-directory.sh).
# Usage: tests/pkg/run.sh PATH/TO/chatseal-relay
set -euo pipefail
server=$(realpath "${1:?usage: run.sh SERVER}")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# A real directory around the run (tests/with-directory.sh exports its URL).
if [[ -z "${CHATSEAL_TEST_DIRECTORY:-}" ]]; then
  exec "$root/tests/with-directory.sh" "$server" "$here/run.sh" "$server"
fi
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "pkg-test: $1 did not come up" >&2; return 1; }
npm_i() { npm install --no-audit --no-fund --loglevel=error "$@"; }

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
tarball="$work/$(cd "$work" && npm pack "$root/pkg" --silent)"
echo "pkg-test: $(basename "$tarball"), $(wc -c < "$tarball") bytes"

directory=$CHATSEAL_TEST_DIRECTORY

# Plain Node, ESM and CommonJS.
mkdir "$work/node" && cp "$here"/fixtures/node/* "$work/node/"
(cd "$work/node" && echo '{"private": true}' > package.json && npm_i "$tarball" \
  && node esm.mjs && node cjs.cjs)

# The hand-written types, strict, as a TypeScript user compiles against them.
cp "$here"/fixtures/types/* "$work/node/"
(cd "$work/node" && npm_i @types/react@19.3.0 && "$here/node_modules/.bin/tsc" -p tsconfig.json && echo "types: ok")

# Vite + React: production build (vite preview) and the dev server, stock config.
cp -r "$here/fixtures/vite-react" "$work/vite" && cp "$here/fixtures/shared/App.jsx" "$work/vite/src/"
(cd "$work/vite" && npm_i && npm_i "$tarball" && npx vite build --logLevel warn)
echo "pkg-test: vite build, gzip -9 of what the browser downloads:"
for f in "$work"/vite/dist/assets/*; do
  printf '  %-40s %8d bytes, gzip -9 %8d\n' "$(basename "$f")" "$(wc -c < "$f")" "$(gzip -9c "$f" | wc -c)"
done
printf '  %-40s %8s        gzip -9 %8d\n' total "" "$(cat "$work"/vite/dist/assets/* | gzip -9c | wc -c)"
port=$(free_port)
(cd "$work/vite" && exec ./node_modules/.bin/vite preview --host 127.0.0.1 --port "$port" --strictPort >"$work/preview.log" 2>&1) &
pids+=($!)
wait_http "http://127.0.0.1:$port/"
node "$here/browser-check.mjs" "http://127.0.0.1:$port/?directory=$directory"
port=$(free_port)
(cd "$work/vite" && exec ./node_modules/.bin/vite --host 127.0.0.1 --port "$port" --strictPort >"$work/dev.log" 2>&1) &
pids+=($!)
wait_http "http://127.0.0.1:$port/"
node "$here/browser-check.mjs" "http://127.0.0.1:$port/?directory=$directory"
# webpack 5 + React, stock config.
cp -r "$here/fixtures/webpack" "$work/webpack" && cp "$here/fixtures/shared/App.jsx" "$work/webpack/src/"
(cd "$work/webpack" && npm_i && npm_i "$tarball" && npx webpack --mode production --config webpack.config.cjs --stats errors-warnings)
port=$(free_port)
(cd "$work/webpack/dist" && exec python3 -m http.server --bind 127.0.0.1 "$port" >"$work/webpack.log" 2>&1) &
pids+=($!)
wait_http "http://127.0.0.1:$port/"
node "$here/browser-check.mjs" "http://127.0.0.1:$port/?directory=$directory"

# Next.js (app router): the page is rendered on the server, then hydrated.
cp -r "$here/fixtures/next" "$work/next" && cp "$here/fixtures/shared/App.jsx" "$work/next/app/"
(cd "$work/next" && npm_i && npm_i "$tarball" && NEXT_TELEMETRY_DISABLED=1 npx next build >"$work/next-build.log" 2>&1) \
  || { cat "$work/next-build.log" >&2; exit 1; }
port=$(free_port)
(cd "$work/next" && NEXT_TELEMETRY_DISABLED=1 exec ./node_modules/.bin/next start -H 127.0.0.1 -p "$port" >"$work/next.log" 2>&1) &
pids+=($!)
wait_http "http://127.0.0.1:$port/"
curl -sf "http://127.0.0.1:$port/" | grep -q '<p id="status">starting</p>' \
  || { echo "pkg-test: Next.js did not server-render the page" >&2; exit 1; }
node "$here/browser-check.mjs" "http://127.0.0.1:$port/?directory=$directory"

# A plain HTML page, no bundler: chatseal.standalone.js and <chatseal-text>; and the same
# page under a strict Content-Security-Policy (script-src 'self' 'wasm-unsafe-eval').
mkdir "$work/html" && cp "$here"/fixtures/plain-html/* "$work/html/"
cp "$work/node/node_modules/chatseal/chatseal.standalone.js" "$work/html/"
printf 'pkg-test: chatseal.standalone.js %d bytes, gzip -9 %d\n' \
  "$(wc -c < "$work/html/chatseal.standalone.js")" "$(gzip -9c "$work/html/chatseal.standalone.js" | wc -c)"
port=$(free_port)
(cd "$work/html" && exec python3 -m http.server --bind 127.0.0.1 "$port" >"$work/html.log" 2>&1) &
pids+=($!)
wait_http "http://127.0.0.1:$port/"
node "$here/browser-check.mjs" "http://127.0.0.1:$port/?directory=$directory"
node "$here/browser-check.mjs" "http://127.0.0.1:$port/csp.html?directory=$directory"
echo "pkg-test: all fixtures passed"
