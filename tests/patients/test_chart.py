from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.patients import actions
from tests.conftest import actor


def test_chart_shows_record_and_is_audited(as_user, nurse, patient):
    response = as_user(nurse).get(reverse("patient-chart", args=[patient.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert patient.mrn in body
    assert "NKDA" in body
    assert "61.5 kg" in body
    assert "BMI 22.6" in body
    event = AuditEvent.objects.filter(action="view", patient=patient).get()
    assert (event.actor, event.role, event.ip) == (nurse, "nurse", "127.0.0.1")


def test_chart_query_count_is_bounded(
    as_user, nurse, clinic, patient, django_assert_max_num_queries
):
    client = as_user(nurse)
    client.get(reverse("patient-chart", args=[patient.pk]))
    for i in range(15):
        actions.record_measurement(
            actor(nurse, clinic),
            patient,
            timezone.localdate() - timedelta(days=i),
            Decimal("70.0"),
            None,
        )
        actions.record_consent(
            actor(nurse, clinic),
            patient,
            {
                "kind": "treatment_ketamine",
                "decision": "granted",
                "version": f"v{i}",
                "signed_at": timezone.now(),
                "signed_by": "Ada Lovelace",
            },
        )
    # 20: the reminders' line of no-shows and late cancellations takes two, the upcoming
    # appointments one, the portal messages one, the referral the patient came through one
    # (two with one).
    with django_assert_max_num_queries(20):
        response = client.get(reverse("patient-chart", args=[patient.pk]))
    assert response.content.decode().count("v1") >= 1


def test_unknown_patient_is_404(as_user, nurse, patient):
    assert as_user(nurse).get(reverse("patient-chart", args=[999999])).status_code == 404
