"""Reading a chart, searching and editing each leave an event: who, as which role, in which
clinic, about which patient, from which address."""

import pytest
from django.test import Client
from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.audit.verify import verify_chain
from ketacare.patients.models import Patient
from tests.conftest import edit_form_data


def chart(patient):
    return reverse("patient-chart", args=[patient.pk])


def client_from(user, ip):
    client = Client(REMOTE_ADDR=ip)
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", ["prescriber", "nurse", "coordinator", "clinic_admin"])
def test_chart_view_writes_a_view_event(staff, clinic, patient, role):
    user = staff[role]
    response = client_from(user, "203.0.113.7").get(chart(patient))
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="view", object_type="patient")
    assert event.actor == user
    assert event.actor_username == user.username
    assert event.role == role
    assert event.clinic == clinic
    assert event.patient == patient
    assert event.object_id == str(patient.pk)
    assert event.ip == "203.0.113.7"
    assert verify_chain().ok


def test_every_chart_view_is_recorded(as_user, nurse, prescriber, patient):
    nurse_client = as_user(nurse)
    for _ in range(3):
        nurse_client.get(chart(patient))
    as_user(prescriber).get(chart(patient))
    views = AuditEvent.objects.filter(action="view", patient=patient).order_by("id")
    assert [e.actor_username for e in views] == ["nurse", "nurse", "nurse", "prescriber"]


def test_refused_chart_views_leave_no_view_event(as_user, researcher, outsider, patient):
    assert as_user(researcher).get(chart(patient)).status_code == 403
    assert as_user(outsider).get(chart(patient)).status_code == 404
    assert not AuditEvent.objects.filter(action="view").exists()


def test_search_writes_a_search_event_with_the_query(clinic, coordinator, patient):
    response = client_from(coordinator, "198.51.100.4").get(
        reverse("patient-list"), {"q": "  Lovelace 1985-12-10 "}
    )
    assert response.status_code == 200
    assert patient in response.context["page"].object_list
    event = AuditEvent.objects.get(action="search")
    assert event.changes == {"query": "Lovelace 1985-12-10"}
    assert (event.actor, event.role, event.clinic, event.ip) == (
        coordinator,
        "coordinator",
        clinic,
        "198.51.100.4",
    )
    assert event.object_type == "patient"
    assert event.patient is None  # a search is about many patients, or none


def test_search_without_matches_is_still_recorded(as_user, nurse, patient):
    as_user(nurse).get(reverse("patient-list"), {"q": "nobody"})
    assert AuditEvent.objects.get(action="search").changes == {"query": "nobody"}


def test_htmx_live_search_is_recorded(as_user, nurse, patient):
    response = as_user(nurse).get(reverse("patient-list"), {"q": "ada"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert AuditEvent.objects.get(action="search").changes == {"query": "ada"}


def test_plain_list_without_a_query_is_not_a_search(as_user, nurse, patient):
    as_user(nurse).get(reverse("patient-list"))
    assert not AuditEvent.objects.filter(action="search").exists()


def test_edit_writes_an_update_event_with_old_and_new_values(clinic, nurse, patient):
    client = client_from(nurse, "192.0.2.55")
    data = edit_form_data(patient, family_name="Byron", phone="+1 555 010 0199")
    response = client.post(reverse("patient-edit", args=[patient.pk]), data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.family_name, patient.phone) == ("Byron", "+1 555 010 0199")
    event = AuditEvent.objects.get(action="update")
    assert event.changes == {
        "family_name": {"old": "Lovelace", "new": "Byron"},
        "phone": {"old": "", "new": "+1 555 010 0199"},
    }
    assert (event.actor, event.role, event.clinic, event.patient, event.ip) == (
        nurse,
        "nurse",
        clinic,
        patient,
        "192.0.2.55",
    )
    assert (event.object_type, event.object_id) == ("patient", str(patient.pk))
    assert verify_chain().ok


def test_second_edit_records_the_previous_new_value_as_old(as_user, nurse, patient):
    client = as_user(nurse)
    url = reverse("patient-edit", args=[patient.pk])
    client.post(url, edit_form_data(patient, family_name="Byron"))
    patient.refresh_from_db()
    client.post(url, edit_form_data(patient, family_name="King"))
    changes = [e.changes for e in AuditEvent.objects.filter(action="update").order_by("id")]
    assert changes == [
        {"family_name": {"old": "Lovelace", "new": "Byron"}},
        {"family_name": {"old": "Byron", "new": "King"}},
    ]


def test_edit_that_changes_nothing_writes_no_update_event(as_user, nurse, patient):
    response = as_user(nurse).post(
        reverse("patient-edit", args=[patient.pk]), edit_form_data(patient)
    )
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="update").exists()


def test_rejected_edit_writes_no_update_event(as_user, nurse, patient):
    data = edit_form_data(patient, family_name="Byron", phone="call me maybe")
    response = as_user(nurse).post(reverse("patient-edit", args=[patient.pk]), data)
    assert response.status_code == 200
    assert Patient.objects.get(pk=patient.pk).family_name == "Lovelace"
    assert not AuditEvent.objects.filter(action="update").exists()
