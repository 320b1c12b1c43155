from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.patients.models import Patient
from tests.conftest import edit_form_data


def test_edit_records_old_and_new_values(as_user, nurse, patient):
    response = as_user(nurse).post(
        reverse("patient-edit", args=[patient.pk]),
        edit_form_data(patient, family_name="King", phone="+1 555 0100"),
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.family_name == "King"
    assert patient.search_family == "king"
    event = AuditEvent.objects.get(action="update", patient=patient)
    assert event.changes == {
        "family_name": {"old": "Lovelace", "new": "King"},
        "phone": {"old": "", "new": "+1 555 0100"},
    }


def test_saving_unchanged_form_writes_nothing(as_user, nurse, patient):
    client = as_user(nurse)
    before = AuditEvent.objects.count()
    client.post(reverse("patient-edit", args=[patient.pk]), edit_form_data(patient))
    assert AuditEvent.objects.count() == before
    assert AuditEvent.objects.filter(action="update").count() == 0


def test_invalid_edit_changes_nothing(as_user, nurse, patient):
    client = as_user(nurse)
    before = AuditEvent.objects.count()
    response = client.post(
        reverse("patient-edit", args=[patient.pk]),
        edit_form_data(patient, family_name="King", email="not-an-email"),
    )
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert Patient.objects.get(pk=patient.pk).family_name == "Lovelace"
    assert AuditEvent.objects.count() == before


def test_concurrent_edit_does_not_overwrite_anothers_change(as_user, nurse, prescriber, patient):
    stale = edit_form_data(patient)  # the nurse opens the form...
    as_user(prescriber).post(  # ...the prescriber records an allergy meanwhile...
        reverse("patient-edit", args=[patient.pk]),
        edit_form_data(patient, allergies="Penicillin — anaphylaxis"),
    )
    response = as_user(nurse).post(  # ...and the nurse saves a new phone number.
        reverse("patient-edit", args=[patient.pk]), {**stale, "phone": "+1 555 0199"}
    )
    assert response.status_code == 200
    assert "Someone else saved this record" in response.content.decode()
    patient.refresh_from_db()
    assert patient.allergies == "Penicillin — anaphylaxis"
    assert patient.phone == ""
