from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.patients.models import BodyMeasurement, ConsentRecord


def test_nurse_records_weight(as_user, nurse, patient):
    today = timezone.localdate().isoformat()
    response = as_user(nurse).post(
        reverse("measurement-new", args=[patient.pk]),
        {"measured_on": today, "weight_kg": "63.0", "height_cm": ""},
    )
    assert response.status_code == 302
    latest = patient.measurements.first()
    assert (latest.weight_kg, latest.height_cm, latest.recorded_by) == (63, None, nurse)
    assert AuditEvent.objects.filter(object_type="bodymeasurement", action="create").count() == 2


def test_implausible_or_future_measurement_is_refused(as_user, nurse, patient):
    client = as_user(nurse)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    for data, field in [
        ({"measured_on": tomorrow, "weight_kg": "63"}, "measured_on"),
        ({"measured_on": "2026-01-01", "weight_kg": "630"}, "weight_kg"),
        ({"measured_on": "2026-01-01", "weight_kg": "63", "height_cm": "16.5"}, "height_cm"),
    ]:
        response = client.post(reverse("measurement-new", args=[patient.pk]), data)
        assert field in response.context["form"].errors
    assert BodyMeasurement.objects.filter(patient=patient).count() == 1


def test_consent_recorded_and_withdrawal_is_a_new_record(as_user, coordinator, patient):
    client = as_user(coordinator)
    url = reverse("consent-new", args=[patient.pk])
    base = {"kind": "treatment_ketamine", "version": "2026-01", "signed_by": "Ada Lovelace"}
    client.post(url, {**base, "decision": "granted", "signed_at": "2026-11-01T10:00"})
    client.post(url, {**base, "decision": "withdrawn", "signed_at": "2026-11-02T10:00"})
    decisions = list(patient.consents.values_list("decision", flat=True))
    assert decisions == ["withdrawn", "granted"]
    assert patient.consents.first().recorded_by == coordinator


def test_future_consent_is_refused(as_user, coordinator, patient):
    future = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = as_user(coordinator).post(
        reverse("consent-new", args=[patient.pk]),
        {
            "kind": "treatment_ketamine",
            "version": "1",
            "signed_by": "A",
            "decision": "granted",
            "signed_at": future,
        },
    )
    assert "signed_at" in response.context["form"].errors
    assert ConsentRecord.objects.count() == 0
