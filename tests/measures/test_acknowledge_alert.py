from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.measures.models import SafetyAlert
from tests.measures.helpers import another_prescriber


def ack_url(alert):
    return reverse("alert-acknowledge", args=[alert.pk])


def test_prescriber_acknowledges_with_a_note(as_user, prescriber, patient, alert):
    response = as_user(prescriber).post(
        ack_url(alert), {"note": "Called patient; safety plan reviewed."}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("alert-dashboard")
    alert.refresh_from_db()
    assert not alert.is_open
    assert alert.acknowledged_by == prescriber
    assert alert.acknowledged_at is not None
    assert alert.acknowledged_at >= alert.created_at
    assert alert.acknowledgement_note == "Called patient; safety plan reviewed."


def test_acknowledgement_is_audited(as_user, prescriber, patient, alert):
    as_user(prescriber).post(ack_url(alert), {"note": "Called patient."})
    event = AuditEvent.objects.get(action="update", object_type="safety_alert")
    assert event.object_id == str(alert.pk)
    assert event.actor == prescriber
    assert event.role == "prescriber"
    assert event.patient == patient
    assert event.changes["acknowledged"] == {"old": False, "new": True}
    assert event.changes["note"]["new"] == "Called patient."


def test_acknowledged_alert_moves_to_recently_acknowledged(as_user, prescriber, alert):
    client = as_user(prescriber)
    client.post(ack_url(alert), {"note": "Called patient."})
    response = client.get(reverse("alert-dashboard"))
    assert list(response.context["open_alerts"]) == []
    assert list(response.context["recent"]) == [alert]
    assert "Called patient." in response.content.decode()


def test_from_the_chart_it_returns_to_the_patients_measures(as_user, prescriber, patient, alert):
    response = as_user(prescriber).post(
        ack_url(alert), {"note": "Seen in clinic.", "back": "patient"}
    )
    assert response["Location"] == reverse("patient-measures", args=[patient.pk])
    html = as_user(prescriber).get(response["Location"]).content.decode()
    assert 'class="alert-safety"' not in html


def test_empty_note_is_refused_and_the_alert_stays_open(as_user, prescriber, alert):
    client = as_user(prescriber)
    for note in ["", "   "]:
        response = client.post(ack_url(alert), {"note": note}, follow=True)
        assert "Write what was done before acknowledging" in response.content.decode()
    alert.refresh_from_db()
    assert alert.is_open
    assert not AuditEvent.objects.filter(action="update", object_type="safety_alert").exists()


def test_get_does_not_acknowledge(as_user, prescriber, alert):
    response = as_user(prescriber).get(ack_url(alert))
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.is_open


def test_nurse_may_not_acknowledge(as_user, nurse, alert):
    response = as_user(nurse).post(ack_url(alert), {"note": "I called."})
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.is_open


def test_another_clinics_prescriber_cannot_find_the_alert(as_user, other_clinic, alert):
    stranger = another_prescriber(other_clinic, "harbor-prescriber")
    response = as_user(stranger).post(ack_url(alert), {"note": "Not my patient."})
    assert response.status_code == 404
    alert.refresh_from_db()
    assert alert.is_open


def test_acknowledging_twice_keeps_the_first_acknowledgement(as_user, prescriber, clinic, alert):
    as_user(prescriber).post(ack_url(alert), {"note": "First: called patient."})
    first = SafetyAlert.objects.get(pk=alert.pk)
    second_prescriber = another_prescriber(clinic, "second-prescriber")
    as_user(second_prescriber).post(ack_url(alert), {"note": "Second note."})
    as_user(prescriber).post(ack_url(alert), {"note": "Third note."})
    alert.refresh_from_db()
    assert alert.acknowledged_by == prescriber
    assert alert.acknowledged_at == first.acknowledged_at
    assert alert.acknowledgement_note == "First: called patient."
    assert AuditEvent.objects.filter(action="update", object_type="safety_alert").count() == 1


def test_a_late_acknowledgement_is_told_it_was_already_acknowledged(
    as_user, prescriber, clinic, alert
):
    as_user(prescriber).post(ack_url(alert), {"note": "First: called patient."})
    late = as_user(another_prescriber(clinic, "late-prescriber"))
    response = late.post(ack_url(alert), {"note": "Also called the family."}, follow=True)
    html = response.content.decode()
    assert "already acknowledged" in html
    assert "Ada Lovelace acknowledged." not in html
