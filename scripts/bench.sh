#!/usr/bin/env bash
# The benchmarks in one command (see benchmarks/README.md), from the repository root or anywhere else:
#
#   scripts/bench.sh                      # everything: 512 MiB upload, cleanup of 20,000 and 100,000 rows
#   scripts/bench.sh --quick              # 64 MiB upload, cleanup of 20,000 rows only
#   scripts/bench.sh --only upload,submit --size 1024
#   scripts/bench.sh --database postgres  # on a throwaway PostgreSQL cluster (tests/services)
#   scripts/bench.sh --backend s3         # the S3 backend on a throwaway SeaweedFS (tests/services):
#                                         # browser uploads in headless Chromium, promotion, cleanup
#   scripts/bench.sh --backend azure      # the Azure backend on a throwaway Azurite (tests/services):
#                                         # the same three benchmarks
#
# Creates .venv/ on first use and installs the library (editable) with its `test` extra when anything the
# benchmarks import is missing; then runs `python -m benchmarks` with the given arguments. Linux only (/proc).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PYTHON=${PYTHON:-python3}
VENV=$ROOT/.venv

if [[ ! -x $VENV/bin/python ]]; then
    echo "==> creating $VENV" >&2
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
fi

if ! "$VENV/bin/python" -c 'import django, gunicorn, requests, psycopg, boto3, azure.storage.blob, storages, playwright, alliance_platform.storage' 2>/dev/null; then
    echo "==> installing the library (editable) with its test extra into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]"
fi

exec "$VENV/bin/python" -m benchmarks "$@"
