"""The ledger reads in one or two lines a row, scrolls sideways on a narrow screen, shows no
identifiers, and offers "Waste" only where something is left to waste."""

import re

from django.urls import reverse

from ketacare.inventory import actions
from ketacare.inventory.actions import Signature
from tests.conftest import PASSWORD
from tests.inventory.conftest import as_nurse, dispense

LEDGER = reverse("inventory-ledger")


def rows(html: str) -> list[str]:
    body = html.split('<table class="ledger">', 1)[1].split("</tbody>", 1)[0].split("<tbody>")[1]
    return re.findall(r"(?s)<tr[^>]*>(.*?)</tr>", body)


def waste(nurse, clinic, registration, entry, units):
    return actions.waste(
        as_nurse(nurse, clinic),
        registration.pk,
        dispense_id=entry.pk,
        units=units,
        reason="Remainder of a single-dose vial, into the drug waste container, witnessed",
        witness=Signature("prescriber", PASSWORD),
    )


def test_every_cell_is_one_or_two_lines(
    lot, registration, safe, patient, nurse, prescriber, clinic, as_user
):
    entry = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient)
    wasted = waste(nurse, clinic, registration, entry, "9")
    # A reversed waste: "of dispense", "reversed by" and its reversal's "corrects" in one line.
    actions.reverse(
        as_nurse(nurse, clinic),
        registration.pk,
        entry_id=wasted.pk,
        reason="Wrong",
        witness=Signature("prescriber", PASSWORD),
    )
    html = as_user(nurse).get(LEDGER).content.decode()
    cells = [cell for row in rows(html) for cell in re.findall(r"(?s)<td[^>]*>(.*?)</td>", row)]
    assert len(cells) > 20
    for cell in cells:
        assert cell.count("<br>") <= 1, cell


def test_the_table_scrolls_sideways_rather_than_the_page(lot, nurse, as_user):
    html = as_user(nurse).get(LEDGER).content.decode()
    assert '<div class="table-scroll">\n<table class="ledger">' in html


def test_no_identifier_is_visible(
    lot, registration, safe, patient, nurse, prescriber, clinic, as_user
):
    entry = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient)
    waste(nurse, clinic, registration, entry, "2")
    for name in ("inventory-stock", "inventory-ledger", "inventory-report-dispensing"):
        html = as_user(nurse).get(reverse(name)).content.decode()
        text = re.sub(r"(?s)<(head|script|style)\b.*?</\1>|<[^>]+>", " ", html)
        assert not re.findall(r"\b[a-z0-9]+_[a-z0-9_]+\b", text), name


def test_waste_is_offered_only_while_something_is_left(
    lot, registration, safe, patient, nurse, prescriber, clinic, as_user
):
    # 10 mL of 50 mg/mL for a 35 mg dose: 9.3 mL to waste.
    entry = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient)
    link = reverse("inventory-waste", args=[entry.pk])
    assert link in as_user(nurse).get(LEDGER).content.decode()
    waste(nurse, clinic, registration, entry, "9")
    assert link in as_user(nurse).get(LEDGER).content.decode()  # 0.3 mL still left
    waste(nurse, clinic, registration, entry, "0.3")
    assert link not in as_user(nurse).get(LEDGER).content.decode()


def test_a_dose_that_used_it_all_has_no_waste_link(
    lot, registration, safe, patient, nurse, clinic, as_user
):
    entry = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient, "1", "50")
    assert (
        reverse("inventory-waste", args=[entry.pk])
        not in as_user(nurse).get(LEDGER).content.decode()
    )
