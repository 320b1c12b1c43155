"""A clinic admin keeps the clinic's address, phone and on-call prescriber; nobody else may,
another clinic's staff cannot see them, and bad input changes nothing."""

import pytest
from django.urls import reverse

from ketacare.accounts.actions import create_staff
from ketacare.accounts.models import Clinic
from ketacare.actor import SYSTEM
from ketacare.audit.models import AuditEvent
from tests.conftest import PASSWORD, client_for

URL = reverse("clinic-settings")


def test_a_clinic_admin_saves_the_details_and_the_change_is_audited(
    clinic, clinic_admin, prescriber
):
    response = client_for(clinic_admin).post(
        URL,
        {
            "address": "1 River Road\nSpringfield",
            "phone": "+1 217 555 0100",
            "on_call_prescriber": prescriber.pk,
        },
    )
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert (clinic.address, clinic.phone) == ("1 River Road\nSpringfield", "+1 217 555 0100")
    assert clinic.on_call_prescriber == prescriber
    event = AuditEvent.objects.filter(object_type="clinic", action="update").latest("pk")
    assert event.changes["on_call_prescriber"] == {"old": None, "new": prescriber.pk}


@pytest.mark.parametrize("role", ["prescriber", "nurse", "coordinator", "researcher"])
def test_only_a_clinic_admin_may(role, staff, clinic):
    assert client_for(staff[role]).get(URL).status_code == 403
    assert client_for(staff[role]).post(URL, {"phone": "1"}).status_code == 403
    clinic.refresh_from_db()
    assert clinic.phone == ""


def test_the_on_call_prescriber_is_a_prescriber_of_this_clinic(
    clinic, other_clinic, clinic_admin, nurse
):
    elsewhere = create_staff(
        SYSTEM, clinic=other_clinic, username="far", password=PASSWORD, role="prescriber"
    )
    for who in (elsewhere, nurse):
        response = client_for(clinic_admin).post(URL, {"on_call_prescriber": who.pk})
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
    assert Clinic.objects.get(pk=clinic.pk).on_call_prescriber is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "call me maybe", "Use digits"),
        ("phone", "1" * 41, "at most 40"),
        ("address", "x" * 501, "at most 500"),
        ("on_call_prescriber", "9" * 40, "valid choice"),
    ],
)
def test_bad_input_gets_a_message_and_changes_nothing(clinic, clinic_admin, field, value, message):
    response = client_for(clinic_admin).post(URL, {field: value})
    assert response.status_code == 200 and message in response.content.decode()
    clinic.refresh_from_db()
    assert (clinic.address, clinic.phone, clinic.on_call_prescriber) == ("", "", None)


def test_another_clinics_admin_edits_only_their_own(clinic, other_clinic):
    admin = create_staff(
        SYSTEM, clinic=other_clinic, username="far-admin", password=PASSWORD, role="clinic_admin"
    )
    client_for(admin).post(URL, {"phone": "999"})
    assert Clinic.objects.get(pk=clinic.pk).phone == ""
    assert Clinic.objects.get(pk=other_clinic.pk).phone == "999"


def test_the_clinics_country_chooses_the_crisis_lines_its_patient_pages_show(clinic, clinic_admin):
    from django.urls import reverse

    from tests.conftest import client_for

    client = client_for(clinic_admin)
    assert client.get(reverse("referral-start", args=[clinic.pk])).content.decode().count("988")
    response = client.post(
        reverse("clinic-settings"),
        {"address": "", "phone": "", "on_call_prescriber": "", "country": "GB"},
    )
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert clinic.country == "GB"
    page = client.get(reverse("portal-sign-in", args=[clinic.pk])).content.decode()
    assert "116 123" in page and "988" not in page
    refused = client.post(
        reverse("clinic-settings"),
        {"address": "", "phone": "", "on_call_prescriber": "", "country": "ZZ"},
    )
    assert refused.status_code == 200 and "valid choice" in refused.content.decode()
    clinic.refresh_from_db()
    assert clinic.country == "GB"


def test_the_action_refuses_a_country_without_crisis_lines(clinic, clinic_admin):
    from django.core.exceptions import ValidationError

    from ketacare.accounts.actions import update_clinic_details
    from ketacare.accounts.permissions import Role
    from tests.conftest import actor

    with pytest.raises(ValidationError, match="crisis lines"):
        update_clinic_details(
            actor(clinic_admin, clinic, Role.CLINIC_ADMIN),
            clinic,
            address="",
            phone="",
            on_call_prescriber_id=None,
            country="ZZ",
        )
