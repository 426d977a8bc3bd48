#!/usr/bin/env bash
# Run the demo site at http://127.0.0.1:8000 (SQLite + the filesystem upload backend; nothing else to start).
#
#   scripts/demo.sh
#
# Sign in with admin / admin. Creates .venv/ (editable install of the library) on first use; re-running is safe.
# Data lives in demo/db.sqlite3 and demo/media/; delete both to start over.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PYTHON=${PYTHON:-python3}
VENV=$ROOT/.venv

if [[ ! -x $VENV/bin/python ]]; then
    echo "==> creating $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
fi

# The demo's REST API (demo/gallery/api.py) needs the drf extra. DEMO_STORAGE=s3, azure or gcs (see
# demo/demo_site/settings.py) needs that backend's extra as well.
EXTRAS=image,drf
case ${DEMO_STORAGE:-filesystem} in
    s3) EXTRAS+=,s3 ;;
    azure) EXTRAS+=,azure ;;
    gcs) EXTRAS+=,gcs ;;
esac
echo "==> installing the library (editable) with extras: $EXTRAS"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[$EXTRAS]"

cd "$ROOT/demo"
echo "==> migrating demo/db.sqlite3"
"$VENV/bin/python" manage.py migrate --no-input
"$VENV/bin/python" manage.py ensure_demo_admin

echo "==> http://127.0.0.1:8000/  (admin / admin; Ctrl-C to stop)"
exec "$VENV/bin/python" manage.py runserver 127.0.0.1:8000
