#!/usr/bin/env bash
# Throwaway Azure Blob Storage for the test suite and the demo: Azurite's blob service.
#
#   scripts/services/azurite.sh start DIR   # start with its data in DIR/data; DIR must not exist or be empty
#   scripts/services/azurite.sh stop DIR    # stop the server started in DIR (no-op if it is not running)
#
# Blob endpoint http://127.0.0.1:${AZURITE_PORT:-10000}/devstoreaccount1, with Azurite's published development
# account (devstoreaccount1 and its well-known key); `start` prints the connection string and writes it to
# DIR/connection-string. Azurite checks SAS
# signatures, permissions, blob scope and expiry, and CORS (once service CORS rules are set), which is what the
# tests need from it.
#
# Azurite comes from npm, pinned to ${AZURITE_VERSION:-3.35.0}, and is installed on first use into
# ${AZURITE_HOME:-<checkout>/.azurite} (git-ignored); `npm` must be on PATH then (Debian: apt-get install npm).
# 3.35.0 is the newest release that still runs on Debian 12's Node.js 18 (later ones ask for Node.js 21+).
# The binary is run directly rather than through npx, so nothing is fetched at start time.
# Files in DIR: data/ (blobs and metadata), connection-string, log, pid.
set -euo pipefail

# shellcheck source=scripts/services/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

svc_parse_args "$@"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AZURITE_PORT=${AZURITE_PORT:-10000}
AZURITE_VERSION=${AZURITE_VERSION:-3.35.0}
AZURITE_HOME=${AZURITE_HOME:-$ROOT/.azurite}
START_TIMEOUT=60  # seconds; it is usually ready in about one
STOP_TIMEOUT=10
PID_FILE=$SVC_DIR/pid
LOG_FILE=$SVC_DIR/log
ACCOUNT=devstoreaccount1
# Azurite's documented development key: public, the same in every installation.
ACCOUNT_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

# The azurite-blob binary of the pinned version, installed if it is missing.
find_azurite() {
    local binary=$AZURITE_HOME/node_modules/.bin/azurite-blob installed=''
    if [[ -x $binary ]]; then
        installed=$(node -p 'require(process.argv[1]).version' "$AZURITE_HOME/node_modules/azurite/package.json" 2>/dev/null || true)
    fi
    if [[ $installed != "$AZURITE_VERSION" ]]; then
        command -v npm >/dev/null || svc_die "npm is needed to install Azurite (Debian: apt-get install -y npm)"
        svc_log "installing azurite@$AZURITE_VERSION into $AZURITE_HOME"
        mkdir -p -- "$AZURITE_HOME"
        [[ -f $AZURITE_HOME/package.json ]] || echo '{"private": true}' >"$AZURITE_HOME/package.json"
        npm install --prefix "$AZURITE_HOME" --no-audit --no-fund --no-save --loglevel=error \
            "azurite@$AZURITE_VERSION" >&2
        [[ -x $binary ]] || svc_die "npm did not install $binary"
    fi
    echo "$binary"
}

# Succeed when the process in DIR/pid is alive and is the Azurite of DIR (not a reused pid).
is_running() {
    local pid cmdline
    [[ -f $PID_FILE ]] || return 1
    pid=$(<"$PID_FILE")
    [[ $pid =~ ^[0-9]+$ ]] && svc_pid_alive "$pid" || return 1
    cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" || true)
    [[ $cmdline == *azurite-blob* && $cmdline == *" --location $SVC_DIR/data "* ]]
}

start() {
    local azurite pid started deadline endpoint status=''
    azurite=$(find_azurite)
    svc_require_free_ports "$AZURITE_PORT"
    if [[ -e $SVC_DIR && -n $(ls -A -- "$SVC_DIR") ]]; then
        svc_die "$SVC_DIR is not empty; give a fresh directory"
    fi
    install -d -m 700 -- "$SVC_DIR" "$SVC_DIR/data"

    endpoint=http://127.0.0.1:$AZURITE_PORT/$ACCOUNT
    svc_log "starting azurite-blob $AZURITE_VERSION on $endpoint"
    started=$(svc_now_ms)
    # --skipApiVersionCheck: the Python SDK may speak a newer API version than Azurite knows; the operations the
    # library uses are the same. Output goes to DIR/log only, so the caller's stdout/stderr are not held open.
    (
        cd "$SVC_DIR"
        exec "$azurite" --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" --location "$SVC_DIR/data" --silent \
            --disableTelemetry --skipApiVersionCheck
    ) </dev/null >"$LOG_FILE" 2>&1 &
    pid=$!
    echo "$pid" >"$PID_FILE"

    # Ready = the blob service answers HTTP at all (an anonymous request gets an error status, which is fine).
    deadline=$((started + START_TIMEOUT * 1000))
    while true; do
        if ! svc_pid_alive "$pid"; then
            cat "$LOG_FILE" >&2 || true
            svc_die "azurite-blob exited during start-up (log above)"
        fi
        status=$(svc_http_status "$AZURITE_PORT" "/$ACCOUNT?comp=list")
        [[ -n $status ]] && break
        if (($(svc_now_ms) >= deadline)); then
            tail -n 40 "$LOG_FILE" >&2 || true
            stop >/dev/null 2>&1 || true
            svc_die "not ready after ${START_TIMEOUT}s; stopped it, log above"
        fi
        sleep 0.1
    done
    svc_log "ready in $(($(svc_now_ms) - started)) ms (pid $pid)"
    echo "DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$ACCOUNT_KEY;BlobEndpoint=$endpoint;" |
        tee "$SVC_DIR/connection-string"
}

stop() {
    svc_stop_pid_file "$PID_FILE" "$STOP_TIMEOUT" is_running
}

"$SVC_ACTION"
