#!/usr/bin/env bash
# What a deployment script does with nothing but the CLI and PROTOCOL §6–§7: start the
# directory, mint a token, publish a card, look it up, rotate it, read its history.
# The API is /v2 (PROTOCOL version 2).
# Cards come from tests/vectors/cards.json (alice's first card and its rotation).
# Usage: cli-walkthrough.sh PATH/TO/chatseal-server
set -euo pipefail
bin=${1:?usage: cli-walkthrough.sh PATH/TO/chatseal-server}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
check() { [[ "$2" == "$3" ]] || { echo "FAIL: $1: expected '$3', got '$2'" >&2; exit 1; }; }

# 1. An app key pair; the directory trusts its public half.
keys=$("$bin" keygen)
kid=$(sed -n 's/^kid=//p' <<<"$keys")
private=$(sed -n 's/^private=//p' <<<"$keys")
public=$(sed -n 's/^public=//p' <<<"$keys")

# 2. Start the server on a free port; its first line says where.
"$bin" serve --listen 127.0.0.1:0 --db "sqlite://$work/directory.db" --app-key "$kid=$public" \
    >"$work/out" 2>"$work/log" &
pid=$!
for _ in $(seq 100); do grep -q '^listening on ' "$work/out" && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$work/out")
[[ -n "$base" ]] || { echo "FAIL: the server did not start:" >&2; cat "$work/log" >&2; exit 1; }
check "healthz" "$(curl -s -o /dev/null -w '%{http_code}' "$base/healthz")" 200

# 3. A token for alice (PROTOCOL §6).
token=$("$bin" token --key "$private" --kid "$kid" --sub alice@clinic-a --ttl 600)
card1=$(json 'd[0]["card"]' <"$root/tests/vectors/cards.json")
card2=$(json 'd[1]["card"]' <"$root/tests/vectors/cards.json")
id1=$(json 'd[0]["card_id"]' <"$root/tests/vectors/cards.json")
id2=$(json 'd[1]["card_id"]' <"$root/tests/vectors/cards.json")
api() { curl -s -w '\n%{http_code}' -H "authorization: Bearer $token" -H 'content-type: application/json' "$@"; }

# 4. Publish, look up, rotate, read the history.
out=$(api -X POST "$base/v2/cards" -d "{\"card\": \"$card1\"}")
check "publish status" "$(tail -n1 <<<"$out")" 201
check "publish card_id" "$(head -n1 <<<"$out" | json 'd["card_id"]')" "$id1"

out=$(api -X POST "$base/v2/cards/lookup" -d '{"identities": ["alice@clinic-a", "bob@clinic-a"]}')
check "lookup status" "$(tail -n1 <<<"$out")" 200
check "lookup card" "$(head -n1 <<<"$out" | json 'd["results"]["alice@clinic-a"]["card"]')" "$card1"
check "lookup no card" "$(head -n1 <<<"$out" | json 'str(d["results"]["bob@clinic-a"]["card"])')" "None"

# The rotation is signed by the first card's key (PROTOCOL §2), so it links.
out=$(api -X POST "$base/v2/cards" -d "{\"card\": \"$card2\"}")
check "rotate status" "$(tail -n1 <<<"$out")" 201
check "rotate card_id" "$(head -n1 <<<"$out" | json 'd["card_id"]')" "$id2"
check "rotate epoch (no §12 log yet)" "$(head -n1 <<<"$out" | json 'd["epoch"]')" 0
out=$(api -X POST "$base/v2/cards" -d "{\"card\": \"$card2\"}")
check "retry status" "$(tail -n1 <<<"$out")" 200

# The first card cannot come back, even with ?replace=true; v1 paths are gone.
out=$(api -X POST "$base/v2/cards?replace=true" -d "{\"card\": \"$card1\"}")
check "republish status" "$(tail -n1 <<<"$out")" 409
check "republish code" "$(head -n1 <<<"$out" | json 'd["error"]["code"]')" Conflict
out=$(api -X POST "$base/v1/cards" -d "{\"card\": \"$card1\"}")
check "v1 status" "$(tail -n1 <<<"$out")" 404

out=$(api "$base/v2/cards/alice%40clinic-a/history")
check "history status" "$(tail -n1 <<<"$out")" 200
check "history" "$(head -n1 <<<"$out" | json '",".join(e["card_id"] for e in d["entries"])')" "$id1,$id2"
check "history cards" "$(head -n1 <<<"$out" | json 'd["cards"][1]')" "$card2"

# 5. Stop it the way a service manager does.
kill -TERM "$pid"; wait "$pid"
echo "cli walkthrough: keygen, serve, token, publish, lookup, rotate, history: ok"
