#!/usr/bin/env bash
# Installs the benchmark's pinned packages (npm ci) when they are missing, or when pkg/
# holds another build of chatseal than the installed copy. Used by run.sh and
# `make bench-floor`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ -f "$root/pkg/web/chatseal_bg.wasm" ]] || { echo "benches: no pkg/ (build it with \`make pkg\`)" >&2; exit 1; }
if [[ ! -d "$here/node_modules" ]] ||
    ! cmp -s "$root/pkg/web/chatseal_bg.wasm" "$here/node_modules/chatseal/web/chatseal_bg.wasm"; then
    (cd "$here" && npm ci --no-audit --no-fund)
fi
