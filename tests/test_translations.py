"""The translation catalogues of the patient-facing pages: each app's Spanish ``django.po``
has its compiled ``django.mo`` committed beside it (a fresh clone runs translated without GNU
gettext), the ``.mo`` says what the ``.po`` says (compiled again here with Babel and compared
entry by entry), and no Spanish entry is left empty or fuzzy. ``scripts/messages.sh``
regenerates both."""

import gettext
import io
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SRC = Path(__file__).resolve().parents[1] / "src" / "ketacare"
CATALOGUES = sorted(SRC.glob("*/locale/*/LC_MESSAGES/django.po"))
# The apps whose pages a patient sees, each with its own Spanish catalogue.
PATIENT_APPS = {"measures", "portal", "referrals", "reminders"}


def _app(po: Path) -> str:
    return po.relative_to(SRC).parts[0]


def _language(po: Path) -> str:
    return po.parent.parent.name


def _compiled(po: Path) -> dict[object, str]:
    """The entries of ``po`` as GNU gettext reads them once compiled (header excluded)."""
    with po.open("rb") as source:
        catalogue = read_po(source, locale=_language(po))
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    buffer.seek(0)
    return _entries(gettext.GNUTranslations(buffer))


def _entries(translations: gettext.GNUTranslations) -> dict[object, str]:
    catalogue: dict[object, str] = translations._catalog  # type: ignore[attr-defined]
    return {key: value for key, value in catalogue.items() if key != ""}


def test_every_patient_facing_app_has_a_spanish_catalogue():
    spanish = {_app(po) for po in CATALOGUES if _language(po) == "es"}
    assert spanish >= PATIENT_APPS, f"no Spanish catalogue for {sorted(PATIENT_APPS - spanish)}"


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda po: str(po.relative_to(SRC)))
def test_the_committed_mo_is_compiled_from_the_po(po):
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo.relative_to(SRC)} is missing: run `sh scripts/messages.sh compile`"
    with mo.open("rb") as committed:
        shipped = _entries(gettext.GNUTranslations(committed))
    assert shipped == _compiled(po), (
        f"{mo.relative_to(SRC)} is stale: run `sh scripts/messages.sh compile` and commit it"
    )


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda po: str(po.relative_to(SRC)))
def test_every_entry_is_translated_and_none_is_fuzzy(po):
    with po.open("rb") as source:
        catalogue = read_po(source, locale=_language(po))
    assert not catalogue.fuzzy, f"{po.relative_to(SRC)}: the header is marked fuzzy"
    untranslated = [m.id for m in catalogue if m.id and not m.string]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert untranslated == [], f"{po.relative_to(SRC)}: not translated: {untranslated}"
    assert fuzzy == [], f"{po.relative_to(SRC)}: fuzzy (check, then drop the flag): {fuzzy}"
