#!/usr/bin/env bash
# Runs the chatseal/matrix tests (node --test, matrix-js-sdk 36.2.0 on Node 20) against a real
# Synapse homeserver on loopback and a real `chatseal-relay` as key directory
# (tests/with-directory.sh), with the built package in ../../../pkg (run `make pkg` first).
#
# Synapse comes from PyPI into a virtualenv at .tools/synapse (installed once: a stamp file
# names the pinned version). Each run generates a throwaway homeserver (SQLite database,
# listener on 127.0.0.1 and a free port, no federation, registration only with the shared
# secret, rate limits off), registers the test users (as register_new_matrix_user does,
# through the shared-secret admin API), exports
#   MATRIX_TEST_HOMESERVER  the homeserver's URL
#   MATRIX_TEST_DB          its SQLite database file
#   MATRIX_TEST_PASSWORD    every test user's password (users: alice, bob, carol, dave, erin, frank, grace)
# runs the tests and stops Synapse however they end.
# Usage: tests/js/matrix/run.sh PATH/TO/chatseal-relay [NODE TEST FILES]
set -euo pipefail
server=$(realpath "${1:?usage: run.sh PATH/TO/chatseal-relay [NODE TEST FILES]}")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
cd "$here"
[[ -f ../../../pkg/package.json ]] || { echo "run.sh: ../../../pkg is not built (make pkg)" >&2; exit 1; }
[[ -f ../../../pkg/matrix.js ]] || { echo "run.sh: ../../../pkg has no matrix.js (make pkg)" >&2; exit 1; }

# A real directory around the run (tests/with-directory.sh exports its URL).
if [[ -z "${CHATSEAL_TEST_DIRECTORY:-}" ]]; then
  exec ../../with-directory.sh "$server" "$here/run.sh" "$server" "${@:2}"
fi
started=$(date +%s%N)
elapsed() { echo "$(( ($(date +%s%N) - $1) / 1000000 )) ms"; }

# --- Synapse, once per machine -----------------------------------------------------------
SYNAPSE_VERSION=1.163.2
venv="$root/.tools/synapse"
stamp="$venv/.chatseal-installed"
if [[ "$(cat "$stamp" 2>/dev/null)" != "matrix-synapse==$SYNAPSE_VERSION" ]]; then
  t=$(date +%s%N)
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "matrix-synapse==$SYNAPSE_VERSION"
  echo "matrix-synapse==$SYNAPSE_VERSION" >"$stamp"
  echo "run.sh: installed matrix-synapse $SYNAPSE_VERSION in $(elapsed "$t")" >&2
fi
py="$venv/bin/python"

# --- A throwaway homeserver --------------------------------------------------------------
work=$(mktemp -d)
synapse_pid=
stop_synapse() {
  if [[ -n "$synapse_pid" ]]; then
    kill "$synapse_pid" 2>/dev/null || true
    wait "$synapse_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_synapse EXIT

# (In $work: the generated log config names homeserver.log in the current directory.)
(cd "$work" && "$py" -m synapse.app.homeserver --server-name localhost --report-stats=no --generate-config \
    --config-path "$work/homeserver.yaml" --data-directory "$work/data" >/dev/null)
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
secret=$("$py" -c 'import secrets; print(secrets.token_hex(16))')
# Later config files override the generated one key by key.
unlimited='{per_second: 10000, burst_count: 10000}'
cat >"$work/test.yaml" <<EOF
listeners:
  - port: $port
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources: [{names: [client], compress: false}]
database:
  name: sqlite3
  args: {database: "$work/data/homeserver.db"}
enable_registration: false
registration_shared_secret: "$secret"
trusted_key_servers: []
federation_domain_whitelist: []
suppress_key_server_warning: true
presence: {enabled: false}
url_preview_enabled: false
bcrypt_rounds: 4
rc_message: $unlimited
rc_registration: $unlimited
rc_login: {address: $unlimited, account: $unlimited, failed_attempts: $unlimited}
rc_joins: {local: $unlimited, remote: $unlimited}
rc_invites: {per_room: $unlimited, per_user: $unlimited, per_issuer: $unlimited}
rc_admin_redaction: $unlimited
EOF
t=$(date +%s%N)
"$py" -m synapse.app.homeserver -c "$work/homeserver.yaml" -c "$work/test.yaml" \
    >"$work/synapse.out" 2>&1 &
synapse_pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 300); do
  curl -fsS "$url/_matrix/client/versions" >/dev/null 2>&1 && break
  kill -0 "$synapse_pid" 2>/dev/null || break
  sleep 0.1
done
curl -fsS "$url/_matrix/client/versions" >/dev/null 2>&1 || {
  echo "run.sh: Synapse did not start:" >&2; tail -n 30 "$work/synapse.out" "$work/homeserver.log" >&2; exit 1; }
echo "run.sh: Synapse $SYNAPSE_VERSION at $url (started in $(elapsed "$t"))" >&2

password="chatseal-test-$secret"
users=(alice bob carol dave erin frank grace)
t=$(date +%s%N)
# Shared-secret registration (what register_new_matrix_user does), all users in one process.
"$py" - "$url" "$secret" "$password" "${users[@]}" <<'PY'
import hashlib, hmac, json, sys, urllib.request
url, secret, password, names = sys.argv[1], sys.argv[2].encode(), sys.argv[3], sys.argv[4:]
endpoint = url + "/_synapse/admin/v1/register"
for name in names:
    nonce = json.load(urllib.request.urlopen(endpoint))["nonce"]
    mac = hmac.new(secret, digestmod=hashlib.sha1)
    for part in (nonce, name, password, "notadmin"):
        mac.update(part.encode() + (b"\x00" if part != "notadmin" else b""))
    body = {"nonce": nonce, "username": name, "password": password, "admin": False, "mac": mac.hexdigest()}
    request = urllib.request.Request(endpoint, json.dumps(body).encode(), {"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()
PY
echo "run.sh: registered ${users[*]} in $(elapsed "$t")" >&2

# --- The tests ---------------------------------------------------------------------------
# chatseal is installed as a packed copy of pkg/ (.npmrc: install-links), so a fresh
# install every run picks up the package as built now.
if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi

status=0
# --test-force-exit: matrix-js-sdk 36 arms an 80–110 s timer for every /sync request and
# never clears it (its `timeoutSignal`), so a stopped client keeps Node alive that long.
files=("${@:2}")
[[ ${#files[@]} -gt 0 ]] || files=(./*.test.js)
MATRIX_TEST_HOMESERVER="$url" MATRIX_TEST_DB="$work/data/homeserver.db" MATRIX_TEST_PASSWORD="$password" \
  node --test --test-concurrency=1 --test-force-exit --test-reporter=spec "${files[@]}" \
  | tee "$work/results.txt" || status=$?
# One closing line in the plain form ("matrix: N passed, N failed"), from the spec summary
# (a file reporter would not be flushed before --test-force-exit ends the run).
passed=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$work/results.txt" | tail -n 1)
failed=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$work/results.txt" | tail -n 1)
echo "run.sh: whole run (Synapse, users, npm ci, tests) took $(elapsed "$started")" >&2
echo "matrix: ${passed:-0} passed, ${failed:-0} failed"
exit "$status"
