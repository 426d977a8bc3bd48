# shellcheck shell=bash
# Helpers shared by the service scripts in this directory. Source it; do not run it.
#
# Each service script takes `start DIR` / `stop DIR`: DIR is a fresh directory owned by that service for one
# run (data, log, sockets). Everything binds to 127.0.0.1 only.

# Print a message to stderr, prefixed with the calling script's name.
svc_log() {
    echo "[$(basename "$0")] $*" >&2
}

# Print a message and exit non-zero.
svc_die() {
    svc_log "ERROR: $*"
    exit 1
}

# Succeed when nothing accepts TCP connections on 127.0.0.1:PORT.
# Uses bash's /dev/tcp so it works on a machine without ss/netcat.
svc_port_is_free() {
    local port=$1
    if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
        return 1
    fi
    return 0
}

# Fail with a clear message when any of the given ports is taken.
svc_require_free_ports() {
    local port
    for port in "$@"; do
        if ! svc_port_is_free "$port"; then
            svc_die "port 127.0.0.1:${port} is already in use; stop whatever listens there" \
                "(e.g. \`ss -ltnp 'sport = :${port}'\`) and try again"
        fi
    done
}

# Print the HTTP status code of `GET PATH` on 127.0.0.1:PORT, or nothing if the server does not answer.
# Bash's /dev/tcp again, so curl is not needed; it gives up after 2 s.
svc_http_status() {  # svc_http_status PORT PATH
    local port=$1 path=$2 line=''
    # The subshell closes the connection whatever happens.
    line=$(
        exec 2>/dev/null
        exec 3<>"/dev/tcp/127.0.0.1/${port}" || exit 0
        printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$path" "$port" >&3
        IFS= read -r -t 2 line <&3 || true
        printf '%s' "$line"
    ) || true
    # "HTTP/1.1 200 OK\r" -> "200"
    if [[ $line =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]]; then
        echo "${BASH_REMATCH[1]}"
    fi
}

# Remove every AWS_* variable from the environment of this shell and what it starts: an access key, profile,
# region or endpoint of the caller's would otherwise reach boto3 (and the S3 server) behind the tests' back.
svc_unset_aws_env() {
    local names
    mapfile -t names < <(compgen -e AWS_ || true)
    if ((${#names[@]})); then
        unset "${names[@]}"
    fi
}

# Milliseconds since the epoch (for "ready in ..." messages).
svc_now_ms() {
    local t=${EPOCHREALTIME//[.,]/}
    echo $((10#$t / 1000))
}

# Succeed when process PID exists and has not exited (a zombie, not yet reaped, is as good as gone).
svc_pid_alive() {  # svc_pid_alive PID
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
    [[ $state != Z ]]
}

# Stop the server whose pid is in PID_FILE: SIGTERM, up to TIMEOUT seconds to exit, then SIGKILL. IS_RUNNING is
# the calling script's function that tells whether that pid is still its server (and not a reused pid).
svc_stop_pid_file() {  # svc_stop_pid_file PID_FILE TIMEOUT IS_RUNNING
    local pid_file=$1 timeout=$2 is_running=$3 pid started deadline
    if ! "$is_running"; then
        svc_log "not running in $SVC_DIR"
        rm -f -- "$pid_file"
        return 0
    fi
    pid=$(<"$pid_file")
    svc_log "stopping (pid $pid)"
    started=$(svc_now_ms)
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((started + timeout * 1000))
    while "$is_running" && (($(svc_now_ms) < deadline)); do
        sleep 0.1
    done
    if "$is_running"; then
        svc_log "still running after ${timeout}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        deadline=$(($(svc_now_ms) + 5000))
        while "$is_running" && (($(svc_now_ms) < deadline)); do
            sleep 0.1
        done
        "$is_running" && svc_die "pid $pid survived SIGKILL"
    fi
    rm -f -- "$pid_file"
    svc_log "stopped in $(($(svc_now_ms) - started)) ms"
}

# Check the usual `start DIR` / `stop DIR` arguments; sets SVC_ACTION and SVC_DIR.
svc_parse_args() {
    if [[ $# -ne 2 || ( $1 != start && $1 != stop ) ]]; then
        echo "usage: $(basename "$0") start|stop DIR" >&2
        exit 2
    fi
    # shellcheck disable=SC2034  # both are read by the sourcing script
    SVC_ACTION=$1
    # Absolute path: the service may change directory, and socket paths must not be relative.
    # shellcheck disable=SC2034
    SVC_DIR=$(realpath -m -- "$2")
}
