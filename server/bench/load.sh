#!/usr/bin/env bash
# Load benchmark of the directory (issue 3): card lookups of 2 identities per request,
# from wrk on loopback, against the SQLite default. Prints figures; asserts nothing
# about time. Usage: load.sh PATH/TO/chatseal-server [DURATION_SECONDS] [CONNECTIONS]
set -euo pipefail
bin=${1:?usage: load.sh PATH/TO/chatseal-server [seconds] [connections]}
duration=${2:-20}
connections=${3:-32}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
command -v wrk >/dev/null || {
    echo "load.sh: installing wrk (Debian)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
keys=$("$bin" keygen)
kid=$(sed -n 's/^kid=//p' <<<"$keys"); private=$(sed -n 's/^private=//p' <<<"$keys"); public=$(sed -n 's/^public=//p' <<<"$keys")
# Rate limits off: one client IP and one identity make all the requests here.
RUST_LOG=warn "$bin" serve --listen 127.0.0.1:0 --db "sqlite://$work/bench.db" --app-key "$kid=$public" \
    --rate-ip 0 --rate-identity 0 >"$work/out" 2>"$work/log" &
pid=$!
for _ in $(seq 100); do grep -q '^listening on ' "$work/out" && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$work/out")
publish() {
    local sub=$1 card=$2 token
    token=$("$bin" token --key "$private" --kid "$kid" --sub "$sub")
    curl -sf -o /dev/null -H "authorization: Bearer $token" -H 'content-type: application/json' \
        -d "{\"card\": \"$card\"}" "$base/v2/cards"
}
card() { python3 -c "import json; print(json.load(open('$root/tests/vectors/cards.json'))[$1]['card'])"; }
publish alice@clinic-a "$(card 0)"
publish bob@clinic-a "$(card 2)"
export CHATSEAL_BENCH_TOKEN; CHATSEAL_BENCH_TOKEN=$("$bin" token --key "$private" --kid "$kid" --sub reader --ttl 3600)
echo "warm-up 3 s, then ${duration} s with $connections connections, 1 wrk thread (2-core machine: wrk and the server share it)"
wrk -t1 -c"$connections" -d3s -s "$here/lookup.lua" "$base/v2/cards/lookup" >/dev/null
wrk -t1 -c"$connections" -d"${duration}s" --latency -s "$here/lookup.lua" "$base/v2/cards/lookup" | tee "$work/wrk.txt"
rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
p50=$(awk '$1=="50%" {print $2}' "$work/wrk.txt")
p99=$(awk '$1=="99%" {print $2}' "$work/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt"); non2xx=${non2xx:-0}
sockerr=$(awk -F'[ ,]+' '/Socket errors/ {print $4+$6+$8+$10}' "$work/wrk.txt"); sockerr=${sockerr:-0}
echo
echo "lookup (2 identities), SQLite: ${rps} req/s, p50 ${p50}, p99 ${p99}, non-2xx ${non2xx}, socket errors ${sockerr}"
