"""Nothing goes to a patient by text or email without a current consent to be contacted that
way (the latest MEASUREMENT_LINKS record by signing time): not from the page, not by a direct
POST, not from the scheduled dispatch or its reminder. One function decides for all of them."""

from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.measures import actions, contact
from ketacare.measures.dispatch import dispatch
from ketacare.measures.models import Assignment, PatientLink
from ketacare.patients.models import ConsentRecord
from tests.conftest import actor, make_patient
from tests.measures.helpers import contact_consent
from tests.measures.test_send_link import SENT

D = date(2026, 11, 2)


@pytest.fixture
def sms(settings):
    SENT.clear()
    settings.KETACARE_SMS_BACKEND = "tests.measures.test_send_link.CapturingSmsBackend"
    return SENT


@pytest.fixture
def reachable(nurse, clinic):
    """Phone and email on record, but no consent yet."""
    return make_patient(nurse, clinic, email="ada@example.org", phone="+1 555 010 0199")


def measures_url(patient):
    return reverse("patient-measures", args=[patient.pk])


def consent_form_url(patient):
    return reverse("consent-new", args=[patient.pk]) + "?kind=measurement_links"


@pytest.mark.parametrize(
    ("channel", "consent", "phone", "email", "expected"),
    [
        ("sms", "granted", "+1 555", "", None),
        ("email", "granted", "", "a@example.org", None),
        ("in_clinic", None, "", "", None),  # nothing is sent
        ("sms", None, "+1 555", "a@example.org", contact.NO_CONSENT),
        ("email", "withdrawn", "+1 555", "a@example.org", contact.CONSENT_WITHDRAWN),
        ("sms", "granted", "", "a@example.org", contact.NO_PHONE),
        ("email", "granted", "+1 555", "", contact.NO_EMAIL),
        (None, "granted", "", "", contact.NO_ADDRESS),
        (None, None, "", "", contact.NO_CONSENT),
    ],
)
def test_the_one_decision(channel, consent, phone, email, expected):
    assert contact.refusal(channel, consent, phone, email) == expected


def test_the_latest_consent_by_signing_time_decides(nurse, reachable):
    now = timezone.now()
    contact_consent(nurse, reachable, "granted", now - timedelta(days=10))
    contact_consent(nurse, reachable, "withdrawn", now - timedelta(days=2))
    assert contact.refusal_for(reachable, "sms") == contact.CONSENT_WITHDRAWN
    # A grant recorded later but signed before the withdrawal does not undo it.
    contact_consent(nurse, reachable, "granted", now - timedelta(days=5))
    assert contact.refusal_for(reachable, "sms") == contact.CONSENT_WITHDRAWN
    contact_consent(nurse, reachable, "granted", now - timedelta(days=1))
    assert contact.refusal_for(reachable, "sms") is None


def test_another_kind_of_consent_does_not_count(nurse, reachable):
    contact_consent(nurse, reachable)
    ConsentRecord.objects.filter(patient=reachable).update(
        kind=ConsentRecord.Kind.RESEARCH_REGISTRY
    )
    assert contact.refusal_for(reachable, "email") == contact.NO_CONSENT


def test_the_page_says_so_and_links_to_the_consent_form(as_user, coordinator, reachable):
    html = as_user(coordinator).get(measures_url(reachable)).content.decode()
    assert "No consent to send questionnaires by text or email is on record" in html
    assert f'<a href="{consent_form_url(reachable)}">Record the consent</a>' in html


def test_with_consent_the_page_has_no_such_notice(as_user, coordinator, reachable):
    contact_consent(coordinator, reachable)
    html = as_user(coordinator).get(measures_url(reachable)).content.decode()
    assert 'id="contact-consent"' not in html


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_a_direct_post_without_consent_sends_nothing(as_user, coordinator, reachable, sms, channel):
    response = as_user(coordinator).post(
        reverse("measure-send-link", args=[reachable.pk]),
        {"instrument_id": "phq9", "channel": channel},
        follow=True,
    )
    html = response.content.decode()
    assert "No link was sent: no consent to send questionnaires by text or email" in html
    assert f'<a href="{consent_form_url(reachable)}">Record the consent</a>' in html
    assert PatientLink.objects.count() == 0
    assert (mail.outbox, sms) == ([], [])
    assert not AuditEvent.objects.filter(object_type="patient_link").exists()


def test_a_withdrawn_consent_stops_the_action_itself(coordinator, nurse, reachable, sms):
    contact_consent(nurse, reachable, "granted", timezone.now() - timedelta(days=3))
    contact_consent(nurse, reachable, "withdrawn", timezone.now() - timedelta(days=1))
    with pytest.raises(contact.ContactRefused) as refused:
        actions.create_link(actor(coordinator, reachable.clinic), reachable, "phq9", "sms")
    assert refused.value.refusal == contact.CONSENT_WITHDRAWN
    assert (PatientLink.objects.count(), sms) == (0, [])


def test_in_clinic_links_need_no_consent(coordinator, reachable, sms):
    actions.create_link(actor(coordinator, reachable.clinic), reachable, "phq9", "in_clinic")
    assert PatientLink.objects.count() == 1


def test_the_dispatch_skips_the_patient_and_records_why(
    as_user, nurse, clinic, reachable, sms, capsys
):
    consented = make_patient(nurse, clinic, given_name="Grace", phone="+1 555 010 0200")
    contact_consent(nurse, consented)
    for patient in (reachable, consented):
        actions.assign_instrument(actor(nurse, clinic), patient, "phq9", "weekly", D)
    with time_machine.travel("2026-11-02 15:00:00+00:00", tick=False):
        call_command("send_questionnaires")
        call_command("send_questionnaires")  # the next run: still not sent, audited once
    out, err = capsys.readouterr()
    assert f"Sent link: MRN {consented.mrn} PHQ-9" in out
    reason = "No consent to send questionnaires by text or email is on record"
    assert err.count(f"Not sent ({reason}): MRN {reachable.mrn} PHQ-9") == 2
    assert "1 links, 0 reminders, 1 not sent." in out
    assert [to for to, _ in sms] == ["+1 555 010 0200"]
    assert not PatientLink.objects.filter(patient=reachable).exists()
    held = Assignment.objects.get(patient=reachable)
    assert held.not_sent_reason == "no_contact_consent"
    [event] = AuditEvent.objects.filter(object_type="assignment", object_id=str(held.pk)).filter(
        action="update"
    )
    assert event.role == "system"
    assert event.changes == {"not_sent": {"old": None, "new": "no_contact_consent"}}
    html = as_user(nurse).get(measures_url(reachable)).content.decode()
    assert "Not sent on 2026-11-02: no consent to send questionnaires by text or email" in html
    assert "no_contact_consent" not in html


def test_once_consent_is_recorded_the_next_dispatch_sends(nurse, clinic, reachable, sms):
    actions.assign_instrument(actor(nurse, clinic), reachable, "phq9", "weekly", D)
    with time_machine.travel("2026-11-02 15:00:00+00:00", tick=False):
        assert dispatch().sent == []
        contact_consent(nurse, reachable)
        assert dispatch().sent == [f"MRN {reachable.mrn} PHQ-9"]
    held = Assignment.objects.get()
    assert (held.not_sent_reason, held.not_sent_since) == ("", None)
    assert len(sms) == 1


def test_no_reminder_after_consent_is_withdrawn(nurse, clinic, reachable, sms):
    actions.assign_instrument(actor(nurse, clinic), reachable, "phq9", "weekly", D)
    with time_machine.travel("2026-11-02 15:00:00+00:00", tick=False) as clock:
        contact_consent(nurse, reachable)
        assert len(dispatch().sent) == 1
        contact_consent(nurse, reachable, "withdrawn")
        clock.shift(timedelta(hours=25))
        report = dispatch()
        assert report.reminded == []
        assert report.reminders_not_sent == [
            (
                f"MRN {reachable.mrn} PHQ-9",
                "The patient has withdrawn consent to questionnaires by text or email",
            )
        ]
        assert dispatch().reminders_not_sent == []  # decided once, not every run
    assert len(sms) == 1  # the first link, before the withdrawal
    link = PatientLink.objects.get()
    assert (link.reminded_at, link.reminder_not_sent) == (None, "contact_consent_withdrawn")
    assert AuditEvent.objects.filter(
        object_type="patient_link", object_id=str(link.pk), action="update"
    ).get().changes == {"reminder_not_sent": {"old": None, "new": "contact_consent_withdrawn"}}


def test_dry_run_reports_without_recording(nurse, clinic, reachable, capsys):
    actions.assign_instrument(actor(nurse, clinic), reachable, "phq9", "once", D)
    with time_machine.travel("2026-11-05 12:00:00+00:00", tick=False):
        call_command("send_questionnaires", "--dry-run")
    assert f"MRN {reachable.mrn} PHQ-9" in capsys.readouterr().err
    assert Assignment.objects.get().not_sent_reason == ""
    assert not AuditEvent.objects.filter(object_type="assignment", action="update").exists()
