"""The screener decides the way: crisis risk gets the crisis page at once, saved with an urgent
alert to the on-call clinician; lower risk goes on to the contact details."""

import pytest
from django.core import mail
from django.urls import reverse

from ketacare.accounts.models import Clinic
from ketacare.audit.models import AuditEvent
from ketacare.referrals.models import Referral, ReferralAlert
from tests.conftest import client_for
from tests.referrals.conftest import HIGH, HIGH_BEHAVIOUR, LOW, MODERATE, refer, screen, start_url


@pytest.fixture
def on_call(clinic, prescriber):
    prescriber.email = "on.call@riverside.example"
    prescriber.save()
    Clinic.objects.filter(pk=clinic.pk).update(on_call_prescriber=prescriber, phone="555-0100")
    clinic.refresh_from_db()
    return prescriber


def test_the_start_page_opens_with_the_screener_and_the_crisis_lines(client, clinic):
    page = client.get(start_url(clinic))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Screening question one" in text
    assert "988" in text and "911" in text
    assert "not monitored around the clock" in text


@pytest.mark.parametrize("answers", [HIGH, HIGH_BEHAVIOUR])
def test_crisis_risk_shows_the_crisis_page_saves_and_alerts_the_on_call(
    client, clinic, on_call, answers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        page = screen(client, clinic, answers)
    text = page.content.decode()
    assert page.status_code == 200
    assert 'class="crisis crisis-page"' in text
    assert "Call or text 988" in text and "911" in text
    assert "555-0100" in text  # the clinic's own line
    assert "How can we reach you?" not in text  # no form before the crisis lines
    referral = Referral.objects.get()
    assert (referral.risk, referral.state, referral.phone) == ("high", "new", "")
    assert referral.screener_answers == answers
    alert = ReferralAlert.objects.get()
    assert alert.flag == "risk_high" and alert.referral == referral
    (message,) = mail.outbox
    assert message.to == ["on.call@riverside.example"]
    assert "URGENT" in message.subject
    created = AuditEvent.objects.get(object_type="referral")
    assert created.actor_username == "anonymous" and created.role == "public"
    assert created.clinic_id == clinic.pk
    assert AuditEvent.objects.filter(object_type="referral_alert_notification").exists()


def test_the_alert_is_on_the_alerts_dashboard(client, clinic, on_call):
    screen(client, clinic, HIGH)
    page = client_for(on_call).get(reverse("alert-dashboard"))
    alert = ReferralAlert.objects.get()
    assert f'id="referral-alert-{alert.pk}"' in page.content.decode()


def test_the_crisis_page_takes_a_number_for_the_warm_hand_off(client, clinic, on_call):
    page = screen(client, clinic, HIGH)
    token = page.context["callback"].initial["token"]
    done = client.post(
        reverse("referral-callback", args=[clinic.pk]),
        {"token": token, "given_name": "Sam", "phone": "555 010 9999"},
    )
    assert "A clinician will try to call you" in done.content.decode()
    assert "555 010 9999" not in done.content.decode()  # nothing shown back
    referral = Referral.objects.get()
    assert (referral.given_name, referral.phone, referral.voicemail_ok) == (
        "Sam",
        "555 010 9999",
        False,
    )
    # Only once: the same token cannot change the number.
    again = client.post(
        reverse("referral-callback", args=[clinic.pk]), {"token": token, "phone": "555 010 0000"}
    )
    assert "expired" in again.content.decode()
    assert Referral.objects.get().phone == "555 010 9999"


def test_lower_risk_continues_to_the_contact_form(client, clinic):
    page = screen(client, clinic, LOW)
    text = page.content.decode()
    assert "How can we reach you?" in text
    assert "crisis-page" not in text
    assert "not monitored around the clock" in text and "988" in text
    assert not Referral.objects.exists()


def test_a_low_risk_referral_is_saved_without_an_alert(client, clinic):
    page = refer(client, clinic)
    assert "Thank you" in page.content.decode()
    referral = Referral.objects.get()
    assert (referral.risk, referral.given_name, referral.consent_to_contact) == (
        "low",
        "Grace",
        True,
    )
    assert not ReferralAlert.objects.exists()


def test_moderate_risk_continues_and_alerts_as_a_questionnaire_would(client, clinic, on_call):
    refer(client, clinic, MODERATE)
    assert Referral.objects.get().risk == "moderate"
    assert ReferralAlert.objects.get().flag == "risk_moderate"


def test_without_the_clinics_wording_there_is_no_form_only_the_lines(client, clinic, settings):
    settings.KETACARE_SCREENER_WORDING = ""
    switch = reverse("portal-language")
    page = client.get(start_url(clinic))
    text = page.content.decode()
    # No form but the language switch (which posts to the portal's language page).
    assert text.count("<form") == text.count(f'<form method="post" action="{switch}"')
    assert "988" in text
