#!/usr/bin/env bash
# The whole benchmark, with a real key directory for the ChatSeal long-task measurement:
# installs the pinned packages when needed (and again when pkg/ has a new build), starts
# `chatseal-relay` through tests/with-directory.sh, and runs run.mjs against it.
# Usage: benches/browser/run.sh PATH/TO/chatseal-relay [run.mjs options, e.g. --quick]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
server=$(realpath "${1:?usage: run.sh PATH/TO/chatseal-relay [--quick] [run.mjs options]}")
shift
"$here/install.sh"
exec "$root/tests/with-directory.sh" "$server" node "$here/run.mjs" "$@"
