"""A change and its audit event are one transaction: if recording the event fails half-way, the
change is not there either (no patient without its trail, no MRN number used up)."""

import pytest
from django.urls import reverse

from ketacare import writes
from ketacare.audit.models import AuditEvent, ChainHead
from ketacare.audit.verify import verify_chain
from ketacare.patients import actions
from ketacare.patients.models import BodyMeasurement, Patient
from tests.conftest import NEW_PATIENT_FORM as NEW_PATIENT
from tests.conftest import edit_form_data, make_patient


class AuditStoreDown(Exception):
    pass


@pytest.fixture
def fail_recording(monkeypatch):
    """Make ``record`` in the patient actions raise for one kind of object, after that object's
    row has been written: called directly, or through their builders' ``writes.DATABASE``.
    Returns the list of objects it was asked to record."""
    real_record = actions.record
    seen = []

    def install(model):
        def failing_record(actor, action, *, obj=None, **kwargs):
            seen.append(obj)
            if isinstance(obj, model):
                assert obj.pk is not None, "the row should already be written"
                raise AuditStoreDown(f"cannot record {action} {obj._meta.model_name}")
            return real_record(actor, action, obj=obj, **kwargs)

        monkeypatch.setattr(actions, "record", failing_record)
        monkeypatch.setattr(writes, "record", failing_record)
        return seen

    return install


def state(clinic):
    clinic.refresh_from_db()
    head = list(ChainHead.objects.order_by("pk").values_list("last_event_id", "last_hash"))
    return {
        "patients": Patient.objects.count(),
        "measurements": BodyMeasurement.objects.count(),
        "events": list(AuditEvent.objects.order_by("id").values_list("id", "hash")),
        "mrn_counter": clinic.mrn_counter,
        "head": head,
    }


@pytest.mark.parametrize("failing_model", [Patient, BodyMeasurement])
def test_create_patient_leaves_nothing_when_recording_fails(
    clinic, nurse, fail_recording, failing_model
):
    before = state(clinic)
    seen = fail_recording(failing_model)
    with pytest.raises(AuditStoreDown):
        make_patient(nurse, clinic)
    assert any(isinstance(obj, failing_model) for obj in seen)
    assert state(clinic) == before
    assert verify_chain().ok


@pytest.mark.parametrize("failing_model", [Patient, BodyMeasurement])
def test_new_patient_form_leaves_nothing_when_recording_fails(
    as_user, clinic, nurse, fail_recording, failing_model
):
    client = as_user(nurse)
    before = state(clinic)
    fail_recording(failing_model)
    with pytest.raises(AuditStoreDown):
        client.post(reverse("patient-new"), NEW_PATIENT)
    assert state(clinic) == before
    assert before["patients"] == 0
    assert verify_chain().ok


def test_next_registration_gets_the_number_the_failed_one_did_not_use(
    as_user, clinic, nurse, monkeypatch, fail_recording
):
    client = as_user(nurse)
    fail_recording(Patient)
    with pytest.raises(AuditStoreDown):
        client.post(reverse("patient-new"), NEW_PATIENT)
    monkeypatch.undo()
    response = client.post(reverse("patient-new"), NEW_PATIENT)
    assert response.status_code == 302
    patient = Patient.objects.get()
    assert patient.mrn.startswith("0000001")
    assert AuditEvent.objects.filter(patient=patient, action="create").count() == 2
    assert verify_chain().ok


def test_failed_edit_leaves_the_patient_unchanged(as_user, clinic, nurse, patient, fail_recording):
    client = as_user(nurse)
    before = state(clinic)
    fail_recording(Patient)
    data = edit_form_data(patient, family_name="Byron")
    with pytest.raises(AuditStoreDown):
        client.post(reverse("patient-edit", args=[patient.pk]), data)
    assert Patient.objects.get(pk=patient.pk).family_name == "Lovelace"
    assert state(clinic) == before
    assert verify_chain().ok
