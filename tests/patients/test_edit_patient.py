from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.patients.forms import DEMOGRAPHIC_FIELDS
from ketacare.patients.models import Patient


def form_data(patient, **changes):
    data = {name: getattr(patient, name) for name in DEMOGRAPHIC_FIELDS}
    data["date_of_birth"] = patient.date_of_birth.isoformat()
    data.update(changes)
    return data


def test_edit_records_old_and_new_values(as_user, nurse, patient):
    response = as_user(nurse).post(
        reverse("patient-edit", args=[patient.pk]),
        form_data(patient, family_name="King", phone="+1 555 0100"),
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
    client.post(reverse("patient-edit", args=[patient.pk]), form_data(patient))
    assert AuditEvent.objects.count() == before
    assert AuditEvent.objects.filter(action="update").count() == 0


def test_invalid_edit_changes_nothing(as_user, nurse, patient):
    client = as_user(nurse)
    before = AuditEvent.objects.count()
    response = client.post(
        reverse("patient-edit", args=[patient.pk]),
        form_data(patient, family_name="King", email="not-an-email"),
    )
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert Patient.objects.get(pk=patient.pk).family_name == "Lovelace"
    assert AuditEvent.objects.count() == before
