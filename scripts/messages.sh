#!/bin/sh
# The translations of the patient-facing pages (the portal, the questionnaire and reminder
# links, the public referral form): each app's locale/<lang>/LC_MESSAGES/django.po, and the
# compiled django.mo committed beside it, so that a fresh clone runs translated without GNU
# gettext installed.
#
#   sh scripts/messages.sh           # collect the marked strings into the .po files, then compile
#   sh scripts/messages.sh compile   # only compile the .po files into .mo files
#
# Run from the repository root. Collecting needs GNU gettext's xgettext (Django's
# makemessages); compiling needs only Babel (the dev extra). After collecting, translate every
# new empty msgstr and every "#, fuzzy" entry (then delete that flag) and compile.
# tests/test_translations.py fails while a .mo is stale or a msgstr is empty or fuzzy.
set -eu
PYTHON=${PYTHON:-.venv/bin/python}
APPS="measures portal referrals reminders"
LANGS="es"
root=$(pwd)
case $PYTHON in /*) ;; *) PYTHON="$root/$PYTHON" ;; esac

if [ "${1:-}" != compile ]; then
    for app in $APPS; do
        for lang in $LANGS; do
            # From the app's own directory, so that makemessages writes to its locale/ (-P: that
            # directory is not on the import path, where referrals/queue.py would shadow queue).
            (cd "src/ketacare/$app" && mkdir -p locale &&
                SECRET_KEY=makemessages PYTHONPATH="$root/src" \
                DJANGO_SETTINGS_MODULE=ketacare.settings \
                "$PYTHON" -P -m django makemessages --locale "$lang" --no-obsolete \
                --add-location file --no-wrap)
        done
    done
fi
for app in $APPS; do
    "$PYTHON" -m babel.messages.frontend compile --domain django \
        --directory "src/ketacare/$app/locale" --statistics
done
