#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the test suite.
#
#   scripts/services/postgres.sh start DIR   # initdb into DIR/data and start; DIR must not exist or be empty
#   scripts/services/postgres.sh stop DIR    # stop the cluster started in DIR (no-op if it is not running)
#
# Listens on 127.0.0.1:${PG_PORT:-5433} (not 5432, where a system cluster may live) and in a Unix socket in
# DIR. Superuser `postgres`, trust authentication, database `postgres`; nothing else is created. Durability is
# switched off (fsync=off, initdb --no-sync): the data is thrown away after the run.
set -euo pipefail

# shellcheck source=scripts/services/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

svc_parse_args "$@"
PG_PORT=${PG_PORT:-5433}
# The postgres user may not be allowed into the caller's working directory (it would complain on every call).
cd /

# Newest installed server version (Debian puts each major version under /usr/lib/postgresql/N/bin).
PGBIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1)
[[ -n $PGBIN && -x $PGBIN/initdb ]] || svc_die "no PostgreSQL server found under /usr/lib/postgresql (apt-get install postgresql)"

# initdb and postgres refuse to run as root, so as root everything runs as the `postgres` system user.
as_pg() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    svc_require_free_ports "$PG_PORT"
    if [[ -e $SVC_DIR && -n $(ls -A -- "$SVC_DIR") ]]; then
        svc_die "$SVC_DIR is not empty; give a fresh directory"
    fi
    if [[ $EUID -eq 0 ]]; then
        install -d -o postgres -g postgres -m 700 -- "$SVC_DIR"
    else
        install -d -m 700 -- "$SVC_DIR"
    fi

    svc_log "initdb in $SVC_DIR/data ($("$PGBIN/postgres" --version))"
    as_pg "$PGBIN/initdb" -D "$SVC_DIR/data" -U postgres -A trust --no-sync -E UTF8 >"$SVC_DIR/initdb.log" 2>&1 \
        || { cat "$SVC_DIR/initdb.log" >&2; svc_die "initdb failed"; }

    svc_log "starting on 127.0.0.1:$PG_PORT"
    if ! as_pg "$PGBIN/pg_ctl" -D "$SVC_DIR/data" -l "$SVC_DIR/log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $SVC_DIR -c fsync=off" start >/dev/null; then
        cat "$SVC_DIR/log" >&2 || true
        svc_die "PostgreSQL did not start (log above)"
    fi
    # pg_ctl -w already waited; this also proves the TCP listener (what the tests use) answers.
    "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 30 || svc_die "PostgreSQL started but 127.0.0.1:$PG_PORT does not answer"
    svc_log "ready: postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
}

stop() {
    if [[ ! -f $SVC_DIR/data/postmaster.pid ]]; then
        svc_log "not running in $SVC_DIR"
        return 0
    fi
    svc_log "stopping"
    # "fast" disconnects clients (e.g. a test run killed half way) instead of waiting for them.
    as_pg "$PGBIN/pg_ctl" -D "$SVC_DIR/data" -m fast -w -t 60 stop >/dev/null \
        || { svc_log "fast shutdown failed, trying immediate"; as_pg "$PGBIN/pg_ctl" -D "$SVC_DIR/data" -m immediate -w stop >/dev/null; }
}

"$SVC_ACTION"
