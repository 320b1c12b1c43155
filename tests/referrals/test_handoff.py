"""A prescriber closes a referral's alert with what was done; the hand-off is audited."""

from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.referrals.models import ReferralAlert
from tests.conftest import client_for
from tests.referrals.conftest import HIGH, screen


def handoff(user, alert, note):
    url = reverse("referral-alert-handoff", args=[alert.pk])
    return client_for(user).post(url, {"note": note})


def test_the_prescriber_records_the_hand_off(client, clinic, prescriber):
    screen(client, clinic, HIGH)
    alert = ReferralAlert.objects.get()
    assert handoff(prescriber, alert, "Called back; warm hand-off to 988.").status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == prescriber and alert.acknowledged_at is not None
    event = AuditEvent.objects.get(object_type="referralalert", action="update")
    assert event.actor == prescriber
    page = client_for(prescriber).get(reverse("alert-dashboard")).content.decode()
    assert f'id="referral-alert-{alert.pk}"' not in page


def test_an_empty_note_or_another_clinic_closes_nothing(client, clinic, prescriber, other_clinic):
    from tests.conftest import _staff

    screen(client, clinic, HIGH)
    alert = ReferralAlert.objects.get()
    handoff(prescriber, alert, "   ")
    elsewhere = _staff(other_clinic, "prescriber", username="elsewhere")
    handoff(elsewhere, alert, "Not mine to close")
    assert ReferralAlert.objects.get().acknowledged_at is None


def test_a_nurse_may_not_close_it(client, clinic, nurse):
    screen(client, clinic, HIGH)
    assert handoff(nurse, ReferralAlert.objects.get(), "x").status_code == 403
