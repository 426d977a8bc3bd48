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
