#!/usr/bin/env bash
# Bring the package's translation catalogs up to date with its sources, then compile them:
#
#   scripts/translations.sh            # every language in src/alliance_platform/storage/locale/
#   scripts/translations.sh it nl      # the same, plus new catalogs for these languages
#
# New and changed texts appear in each locale/<lang>/LC_MESSAGES/django.po with an empty (or "fuzzy") msgstr:
# translate them, run this again to compile, and commit both the .po and the .mo files (the wheel ships the
# committed .mo files; nothing is compiled at build time). tests/test_translations.py fails while any text is
# missing from a catalog, untranslated, fuzzy, or its compiled .mo is out of date.
#
# Needs GNU gettext (xgettext, msgmerge, msgfmt: `apt-get install gettext`) and Django (PYTHON, default
# .venv/bin/python when present, otherwise python3).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$([[ -x $ROOT/.venv/bin/python ]] && echo "$ROOT/.venv/bin/python" || echo python3)}
cd "$ROOT/src/alliance_platform/storage"

languages=()
for dir in locale/*/; do
    [[ -d $dir ]] && languages+=(-l "$(basename "$dir")")
done
for language in "$@"; do
    languages+=(-l "$language")
done
if ((${#languages[@]} == 0)); then
    echo "no languages: give one, e.g. scripts/translations.sh de" >&2
    exit 1
fi

# No settings: makemessages only reads the sources in this directory. --no-location keeps the catalogs free of
# line numbers, so that unrelated edits to the sources do not change them.
unset DJANGO_SETTINGS_MODULE
"$PYTHON" -m django makemessages --no-location "${languages[@]}"
"$PYTHON" -m django compilemessages
