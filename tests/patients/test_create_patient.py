import pytest
from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.patients.models import BodyMeasurement, Patient
from ketacare.patients.mrn import is_valid_mrn
from tests.conftest import NEW_PATIENT_FORM as VALID


def test_nurse_registers_patient_with_first_weight(as_user, nurse, clinic):
    response = as_user(nurse).post(reverse("patient-new"), VALID)
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("patient-chart", args=[patient.pk])
    assert patient.clinic == clinic
    assert is_valid_mrn(patient.mrn)
    assert BodyMeasurement.objects.get(patient=patient).weight_kg == 61.5
    event = AuditEvent.objects.get(action="create", object_type="patient")
    assert event.actor == nurse
    assert event.role == "nurse"
    assert event.patient == patient
    assert event.changes["family_name"] == {"old": None, "new": "Lovelace"}


def test_coordinator_registers_without_measurements(as_user, coordinator):
    # Intake coordinators may not record measurements, so registration offers them none.
    client = as_user(coordinator)
    assert "weight_kg" not in client.get(reverse("patient-new")).context["form"].fields
    response = client.post(reverse("patient-new"), VALID)
    assert response.status_code == 302
    assert Patient.objects.count() == 1
    assert BodyMeasurement.objects.count() == 0


def test_mrns_are_sequential_and_unique_per_clinic(as_user, coordinator):
    client = as_user(coordinator)
    for given_name in ("Ada", "Mary", "Emmy"):
        client.post(reverse("patient-new"), {**VALID, "given_name": given_name})
    mrns = list(Patient.objects.order_by("id").values_list("mrn", flat=True))
    assert len(set(mrns)) == 3
    assert [m[:7] for m in mrns] == ["0000001", "0000002", "0000003"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("date_of_birth", "2999-01-01", "in the future"),
        ("date_of_birth", "1850-01-01", "over 120 years"),
        ("date_of_birth", "not a date", "Enter a valid date"),
        ("weight_kg", "615", "outside the plausible range"),
        ("height_cm", "1.7", "outside the plausible range"),
        ("weight_kg", "61.55", "decimal place"),
        ("sex_at_birth", "robot", "Select a valid choice"),
        ("email", "ada@", "valid email"),
        ("phone", "call me maybe", "phone number"),
        ("given_name", "", "required"),
        ("allergies", "", "NKDA if none are known"),
    ],
)
def test_bad_input_gets_a_field_message_and_changes_nothing(as_user, nurse, field, value, message):
    client = as_user(nurse)
    events_before = AuditEvent.objects.count()
    response = client.post(reverse("patient-new"), {**VALID, field: value})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert Patient.objects.count() == 0
    assert AuditEvent.objects.count() == events_before


def test_height_without_weight_is_refused(as_user, nurse):
    data = {**VALID, "weight_kg": ""}
    response = as_user(nurse).post(reverse("patient-new"), data)
    assert "weight_kg" in response.context["form"].errors
    assert Patient.objects.count() == 0
