#!/usr/bin/env bash
# Runs a command with a real key directory: starts `chatseal-relay` on a free
# loopback port with a throwaway SQLite database and rate limits off, exports its URL as
# CHATSEAL_TEST_DIRECTORY, runs the command, and stops the server (and removes the
# database) however the command ends. The command's exit status is returned. The database
# file is exported as CHATSEAL_TEST_DB and the chat relay's uploads folder as
# CHATSEAL_TEST_UPLOADS; WITH_DIRECTORY_ARGS adds server arguments (e.g. `--www www/dist`).
# Usage: tests/with-directory.sh PATH/TO/chatseal-relay COMMAND [ARGS...]
set -euo pipefail
server=$(realpath "${1:?usage: with-directory.sh SERVER COMMAND [ARGS...]}")
shift
work=$(mktemp -d)
# shellcheck disable=SC2086 # WITH_DIRECTORY_ARGS is a list of words
"$server" --listen 127.0.0.1:0 --db "sqlite://$work/directory.db" --rate-ip 0 --rate-identity 0 \
    --uploads "$work/uploads" ${WITH_DIRECTORY_ARGS:-} >"$work/out" 2>"$work/log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$work/out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/out")
[[ -n "$url" ]] || { echo "with-directory: the demo server did not start:" >&2; cat "$work/log" >&2; exit 1; }
echo "with-directory: directory at $url" >&2
CHATSEAL_TEST_DIRECTORY="$url" CHATSEAL_TEST_DB="$work/directory.db" CHATSEAL_TEST_UPLOADS="$work/uploads" "$@"
