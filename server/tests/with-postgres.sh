#!/usr/bin/env bash
# Runs the given command with CHATSEAL_TEST_POSTGRES set to the URL of a throwaway
# PostgreSQL cluster on 127.0.0.1, started here and removed on exit. Installs Debian's
# `postgresql` package first when no server binaries are present. If PostgreSQL truly
# cannot start, it says why and runs the command without the variable (the PostgreSQL
# tests then print that they were skipped and why).
set -euo pipefail

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }


bin=$(find_bin || true)
if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
    echo "with-postgres: installing Debian's postgresql package" >&2
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
            || echo "with-postgres: apt-get install postgresql failed" >&2
    fi
    bin=$(find_bin || true)
fi
if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
    echo "with-postgres: PostgreSQL tests will be SKIPPED: no PostgreSQL server binaries and none could be installed" >&2
    export CHATSEAL_TEST_POSTGRES_SKIP="no PostgreSQL server binaries (apt-get install postgresql failed)"
    exec "$@"
fi

dir=$(mktemp -d /tmp/chatseal-pg.XXXXXX)
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
    # initdb refuses to run as root: run the cluster as the package's postgres user.
    chown postgres: "$dir"
    as_pg=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

stop() {
    "${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT

if ! "${as_pg[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1; then
    echo "with-postgres: PostgreSQL tests will be SKIPPED: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    export CHATSEAL_TEST_POSTGRES_SKIP="initdb failed"
    "$@"
    exit $?
fi
if ! "${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=400" start >/dev/null; then
    echo "with-postgres: PostgreSQL tests will be SKIPPED: the server did not start:" >&2
    cat "$dir/server.log" >&2
    export CHATSEAL_TEST_POSTGRES_SKIP="postgres did not start"
    "$@"
    exit $?
fi
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
export CHATSEAL_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres"
"$@"
