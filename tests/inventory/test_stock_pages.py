"""The inventory pages: who may open them, what they show, bounded queries, and another
clinic's ids answered with 404."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.inventory import actions
from ketacare.inventory.actions import Counted
from ketacare.inventory.models import LedgerEntry
from tests.inventory.conftest import as_admin, as_nurse, dispense, receive, witness

# Every page that needs no object, with the action that guards it.
PAGES = {
    "inventory-stock": "inventory.view",
    "inventory-ledger": "inventory.view",
    "inventory-receive": "inventory.move",
    "inventory-dispense": "inventory.move",
    "inventory-transfer": "inventory.move",
    "inventory-return": "inventory.move",
    "inventory-loss": "inventory.count",
    "inventory-count-new": "inventory.count",
    "inventory-discrepancies": "inventory.view",
    "inventory-setup": "inventory.setup",
}
ALLOWED = {
    "inventory.view": {"prescriber", "nurse", "clinic_admin"},
    "inventory.move": {"prescriber", "nurse", "clinic_admin"},
    "inventory.count": {"clinic_admin"},
    "inventory.setup": {"clinic_admin"},
}


@pytest.fixture
def dispensed(registration, lot, safe, patient, nurse, clinic):
    return dispense(as_nurse(nurse, clinic), registration, lot, safe, patient)


@pytest.fixture
def discrepancy(registration, lot, safe, clinic_admin, clinic):
    count = actions.record_count(
        as_admin(clinic_admin, clinic),
        registration.pk,
        kind="ad_hoc",
        lines=[Counted(lot.pk, safe.pk, "98")],
    )
    return count.lines.get().discrepancy


@pytest.mark.parametrize("name", PAGES)
def test_each_page_opens_for_the_roles_the_table_allows(name, staff, lot, as_user):
    for role, user in staff.items():
        response = as_user(user).get(reverse(name))
        expected = 200 if role in ALLOWED[PAGES[name]] else 403
        assert response.status_code == expected, (name, role)


def test_the_object_pages_open_for_the_allowed_roles_only(staff, dispensed, discrepancy, as_user):
    pages = [
        (reverse("inventory-waste", args=[dispensed.pk]), "inventory.move"),
        (reverse("inventory-reverse", args=[dispensed.pk]), "inventory.move"),
        (reverse("inventory-discrepancy", args=[discrepancy.pk]), "inventory.count"),
    ]
    for url, action in pages:
        for role, user in staff.items():
            expected = 200 if role in ALLOWED[action] else 403
            assert as_user(user).get(url).status_code == expected, (url, role)


def test_another_clinics_nurse_gets_404_for_this_clinics_entries(
    outsider, dispensed, discrepancy, as_user, other_clinic
):
    from ketacare.accounts.actions import create_staff
    from ketacare.actor import SYSTEM
    from tests.conftest import PASSWORD

    client = as_user(outsider)
    for name in ("inventory-waste", "inventory-reverse"):
        assert client.get(reverse(name, args=[dispensed.pk])).status_code == 404
        assert client.post(reverse(name, args=[dispensed.pk]), {"reason": "x"}).status_code == 404
    other_admin = create_staff(
        SYSTEM, clinic=other_clinic, username="other-admin", password=PASSWORD, role="clinic_admin"
    )
    url = reverse("inventory-discrepancy", args=[discrepancy.pk])
    assert as_user(other_admin).get(url).status_code == 404
    assert as_user(outsider).get(url).status_code == 403  # a nurse may not resolve at all
    assert LedgerEntry.objects.count() == 2


def test_another_clinic_sees_none_of_this_clinics_stock(outsider, lot, dispensed, as_user):
    client = as_user(outsider)
    html = client.get(reverse("inventory-stock")).content.decode()
    assert "L001" not in html
    assert "No DEA registration yet" in html
    assert client.get(reverse("inventory-ledger")).status_code == 302
    registration = lot.registration_id
    url = reverse("inventory-ledger") + f"?registration={registration}"
    assert client.get(url).status_code == 404


def test_the_stock_page_shows_balances_in_units_and_mg(lot, nurse, as_user):
    html = as_user(nurse).get(reverse("inventory-stock")).content.decode()
    assert "L001" in html
    assert "Main safe" in html
    assert "100.00 mL" in html
    assert "5000.00" in html  # 100 mL × 50 mg/mL


def test_lots_near_or_past_expiry_are_flagged(registration, vial, safe, nurse, clinic, as_user):
    today = timezone.localdate()
    who = as_nurse(nurse, clinic)
    receive(who, registration, vial, safe, "10", "SOON", today + timedelta(days=10))
    receive(who, registration, vial, safe, "10", "PAST", today - timedelta(days=1))
    receive(who, registration, vial, safe, "10", "LATER", today + timedelta(days=400))
    response = as_user(nurse).get(reverse("inventory-stock"))
    rows = {
        row.balance.lot.lot_number: row
        for _, products, _ in response.context["registrations"]
        for product in products
        for row in product.rows
    }
    assert (rows["SOON"].expiring, rows["SOON"].expired) == (True, False)
    assert (rows["PAST"].expiring, rows["PAST"].expired) == (False, True)
    assert (rows["LATER"].expiring, rows["LATER"].expired) == (False, False)
    html = response.content.decode()
    assert "expires in 10 days" in html
    assert ">expired<" in html


def test_buttons_follow_the_role(lot, nurse, clinic_admin, as_user):
    nurse_html = as_user(nurse).get(reverse("inventory-stock")).content.decode()
    assert reverse("inventory-dispense") in nurse_html
    assert reverse("inventory-count-new") not in nurse_html
    assert reverse("inventory-setup") not in nurse_html
    admin_html = as_user(clinic_admin).get(reverse("inventory-stock")).content.decode()
    assert reverse("inventory-count-new") in admin_html
    assert reverse("inventory-loss") in admin_html
    assert reverse("inventory-setup") in admin_html


def test_the_nav_links_to_inventory_for_those_who_may_see_it(nurse, coordinator, as_user):
    html = as_user(nurse).get(reverse("home"), follow=True).content.decode()
    assert reverse("inventory-stock") in html
    html = as_user(coordinator).get(reverse("home"), follow=True).content.decode()
    assert reverse("inventory-stock") not in html


def test_without_a_registration_an_admin_is_asked_to_set_it_up(clinic_admin, nurse, as_user):
    html = as_user(clinic_admin).get(reverse("inventory-stock")).content.decode()
    assert "Set up the ledger" in html
    html = as_user(nurse).get(reverse("inventory-stock")).content.decode()
    assert "Set up the ledger" not in html
    assert "A clinic admin sets up" in html
    response = as_user(nurse).get(reverse("inventory-dispense"))
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory-stock")


def test_the_stock_page_counts_open_discrepancies(discrepancy, nurse, as_user):
    response = as_user(nurse).get(reverse("inventory-stock"))
    assert response.context["open_discrepancies"] == 1
    assert "1 open discrepancy" in response.content.decode()


def _queries(client, url):
    client.get(url)  # the first request of a session also refreshes the session's marks
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_stock_page_query_count_does_not_grow_with_lots(
    registration, vial, safe, cabinet, nurse, clinic, as_user
):
    who = as_nurse(nurse, clinic)
    receive(who, registration, vial, safe, "10", "A1")
    client = as_user(nurse)
    few = _queries(client, reverse("inventory-stock"))
    for i in range(6):
        receive(who, registration, vial, cabinet if i % 2 else safe, "10", f"B{i}")
    assert _queries(client, reverse("inventory-stock")) == few


def test_the_ledger_query_count_does_not_grow_with_entries(
    registration, lot, safe, cabinet, patient, nurse, prescriber, clinic, as_user
):
    who = as_nurse(nurse, clinic)
    out = dispense(who, registration, lot, safe, patient)
    client = as_user(nurse)
    few = _queries(client, reverse("inventory-ledger"))
    actions.waste(
        who, registration.pk, dispense_id=out.pk, units="1", reason="r", witness=witness(prescriber)
    )
    second = dispense(who, registration, lot, safe, patient)
    actions.reverse(who, registration.pk, entry_id=second.pk, reason="wrong lot")
    actions.transfer(
        who,
        registration.pk,
        lot_id=lot.pk,
        from_location_id=safe.pk,
        to_location_id=cabinet.pk,
        units="5",
    )
    assert _queries(client, reverse("inventory-ledger")) == few


def test_the_ledger_lists_entries_newest_first_with_who_and_for_whom(
    registration, lot, safe, patient, nurse, prescriber, clinic, as_user
):
    who = as_nurse(nurse, clinic)
    out = dispense(who, registration, lot, safe, patient)
    actions.waste(
        who,
        registration.pk,
        dispense_id=out.pk,
        units="3",
        reason="Drawn into the sharps bin",
        witness=witness(prescriber),
    )
    response = as_user(nurse).get(reverse("inventory-ledger"))
    entries = list(response.context["page"])
    assert [e.sequence for e in entries] == [3, 2, 1]
    html = response.content.decode()
    assert patient.full_name in html
    assert patient.mrn in html
    assert "Prescriber Tester" in html  # the witness
    assert "Drawn into the sharps bin" in html
    assert f"of dispense #{out.sequence}" in html


def test_a_reversal_names_the_entry_it_corrects_and_the_entry_is_marked(
    registration, lot, safe, patient, nurse, clinic, as_user
):
    who = as_nurse(nurse, clinic)
    out = dispense(who, registration, lot, safe, patient)
    back = actions.reverse(who, registration.pk, entry_id=out.pk, reason="Wrong patient")
    html = as_user(nurse).get(reverse("inventory-ledger")).content.decode()
    assert f"corrects #{out.sequence}" in html
    assert f"reversed by #{back.sequence}" in html
    assert 'class="reversed"' in html
    # A reversed entry offers no further waste or reversal.
    assert reverse("inventory-reverse", args=[out.pk]) not in html
    assert reverse("inventory-waste", args=[out.pk]) not in html


def test_the_ledger_is_paginated_by_50(registration, lot, safe, cabinet, nurse, clinic, as_user):
    who = as_nurse(nurse, clinic)
    for _ in range(50):
        actions.transfer(
            who,
            registration.pk,
            lot_id=lot.pk,
            from_location_id=safe.pk,
            to_location_id=cabinet.pk,
            units="1",
        )
    client = as_user(nurse)
    first = client.get(reverse("inventory-ledger"))
    assert len(first.context["page"]) == 50
    assert first.context["page"][0].sequence == 51
    second = client.get(reverse("inventory-ledger"), {"page": 2})
    assert [e.sequence for e in second.context["page"]] == [1]


def test_reading_the_ledger_is_audited(lot, nurse, as_user):
    as_user(nurse).get(reverse("inventory-ledger"))
    assert AuditEvent.objects.filter(action="view", object_type="ledger", actor=nurse).exists()


def test_the_discrepancy_list_shows_open_ones_with_a_resolve_link_for_admins(
    discrepancy, nurse, clinic_admin, as_user
):
    url = reverse("inventory-discrepancy", args=[discrepancy.pk])
    html = as_user(clinic_admin).get(reverse("inventory-discrepancies")).content.decode()
    assert url in html
    assert "-2.00 mL" in html
    html = as_user(nurse).get(reverse("inventory-discrepancies")).content.decode()
    assert "-2.00 mL" in html
    assert url not in html


def test_set_up_creates_the_registration_a_location_and_a_product(clinic_admin, as_user, clinic):
    client = as_user(clinic_admin)
    url = reverse("inventory-setup")
    response = client.post(
        url,
        {
            "registration": "1",
            "registration-dea_number": "ab1234563",
            "registration-name": "Riverside Ketamine Clinic",
            "registration-address": "1 River St",
        },
    )
    assert response.status_code == 302
    registration = clinic.registrations.get()
    assert registration.dea_number == "AB1234563"
    response = client.post(
        url, {"location": "1", "location-name": "Main safe", "location-kind": "safe"}
    )
    assert response.status_code == 302
    assert registration.locations.get().name == "Main safe"
    response = client.post(
        url,
        {
            "product": "1",
            "product-ndc": "00000-0009-01",
            "product-name": "Ketamine 10 mg/mL",
            "product-drug": "racemic_ketamine",
            "product-form": "vial",
            "product-unit": "mL",
            "product-mg_per_unit": "10",
            "product-units_per_package": "20",
        },
    )
    assert response.status_code == 302
    html = client.get(url).content.decode()
    assert "Ketamine 10 mg/mL" in html
    assert "Main safe" in html


def test_set_up_refuses_a_mistyped_dea_number(clinic_admin, as_user, clinic):
    response = as_user(clinic_admin).post(
        reverse("inventory-setup"),
        {
            "registration": "1",
            "registration-dea_number": "AB1234567",
            "registration-name": "Riverside",
        },
    )
    assert response.status_code == 200
    assert "fails the DEA check digit" in response.content.decode()
    assert not clinic.registrations.exists()


def test_an_entry_recorded_late_shows_both_times(
    registration, lot, safe, patient, nurse, clinic, as_user
):
    earlier = timezone.now() - timedelta(hours=5)
    dispense(as_nurse(nurse, clinic), registration, lot, safe, patient, occurred_at=earlier)
    html = as_user(nurse).get(reverse("inventory-ledger")).content.decode()
    assert html.count("recorded ") == 1
