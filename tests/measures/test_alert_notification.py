"""When a safety alert opens, the clinic's on-call prescriber is emailed at once: after the
transaction commits, with the MRN and a link but nothing of the answers, and audited. Without a
reachable on-call prescriber, every active prescriber of the clinic with an email is told."""

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.models import Membership
from ketacare.audit.models import AuditEvent
from ketacare.measures import actions
from ketacare.measures.models import SafetyAlert
from tests.conftest import actor
from tests.measures.helpers import another_prescriber, staff_form_data

QIDS_ITEM12 = [0] * 11 + [2] + [0] * 4  # item 12 (thoughts of death or suicide) = 2
QIDS_NO_RISK = [1] * 11 + [0] + [1] * 4


@pytest.fixture
def on_call(clinic, prescriber):
    prescriber.email = "on.call@riverside.example"
    prescriber.save()
    clinic.on_call_prescriber = prescriber
    clinic.save()
    return prescriber


def prescriber_with_email(clinic, username: str):
    return another_prescriber(clinic, username, email=f"{username}@riverside.example")


def enter(nurse, clinic, patient, answers=QIDS_ITEM12):
    return actions.record_staff_response(
        actor(nurse, clinic), patient, "qids_sr16", answers, timezone.now()
    )


def notification_events():
    return AuditEvent.objects.filter(object_type="safety_alert_notification")


def test_the_on_call_prescriber_is_emailed_once_the_alert_commits(
    nurse, clinic, patient, on_call, django_capture_on_commit_callbacks
):
    prescriber_with_email(clinic, "another")  # not on call: not told
    with django_capture_on_commit_callbacks() as callbacks:
        enter(nurse, clinic, patient)
        assert mail.outbox == []  # nothing goes out inside the transaction
    assert len(callbacks) == 1
    callbacks[0]()
    (message,) = mail.outbox
    alert = SafetyAlert.objects.get()
    assert message.to == ["on.call@riverside.example"]
    assert patient.mrn in message.subject
    assert patient.mrn in message.body
    assert clinic.name in message.body
    assert f"/alerts/#alert-{alert.pk}" in message.body
    assert "on-call prescriber" in message.body


def test_the_message_carries_no_name_answers_or_instrument(
    nurse, clinic, patient, on_call, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        enter(nurse, clinic, patient)
    (message,) = mail.outbox
    text = f"{message.subject}\n{message.body}"
    for private in ("Ada", "Lovelace", "1985", "QIDS", "item 12", "suicid", "thoughts"):
        assert private not in text, private


def test_the_notification_is_audited_against_the_alert(
    nurse, clinic, patient, on_call, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        enter(nurse, clinic, patient)
    event = notification_events().get()
    assert event.object_id == str(SafetyAlert.objects.get().pk)
    assert (event.patient, event.clinic, event.role) == (patient, clinic, "system")
    assert event.changes == {
        "channel": "email",
        "basis": "on_call_prescriber",
        "sent_to": [on_call.username],
        "texted": [],
    }


def test_no_alert_no_message(nurse, clinic, patient, on_call, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enter(nurse, clinic, patient, QIDS_NO_RISK)
    assert callbacks == []
    assert mail.outbox == []
    assert not notification_events().exists()


def test_an_alert_that_rolls_back_is_never_announced(
    nurse, clinic, patient, on_call, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        enter(nurse, clinic, patient)
        raise RuntimeError("something later in the same transaction failed")
    assert callbacks == []
    assert mail.outbox == []
    assert not SafetyAlert.objects.exists()


def test_without_an_on_call_prescriber_every_active_prescriber_with_email_is_told(
    nurse, clinic, patient, prescriber, django_capture_on_commit_callbacks
):
    # The fixture's prescriber has no email; one more has left the clinic; a nurse is not told.
    first = prescriber_with_email(clinic, "first")
    second = prescriber_with_email(clinic, "second")
    left = prescriber_with_email(clinic, "left")
    Membership.objects.filter(user=left).update(active=False)
    nurse.email = "nurse@riverside.example"
    nurse.save()
    with django_capture_on_commit_callbacks(execute=True):
        enter(nurse, clinic, patient)
    assert sorted(m.to[0] for m in mail.outbox) == [first.email, second.email]
    assert all("No on-call prescriber" in m.body for m in mail.outbox)
    event = notification_events().get()
    assert event.changes["basis"] == "all_active_prescribers"
    assert event.changes["sent_to"] == ["first", "second"]


@pytest.mark.parametrize("reason", ["no_email", "deactivated", "left_the_clinic"])
def test_an_unreachable_on_call_prescriber_falls_back_to_all_prescribers(
    nurse, clinic, patient, on_call, reason, django_capture_on_commit_callbacks
):
    other = prescriber_with_email(clinic, "other")
    if reason == "no_email":
        on_call.email = ""
        on_call.save()
    elif reason == "deactivated":
        on_call.is_active = False
        on_call.save()
    else:
        Membership.objects.filter(user=on_call).update(active=False)
    with django_capture_on_commit_callbacks(execute=True):
        enter(nurse, clinic, patient)
    assert [m.to for m in mail.outbox] == [[other.email]]


def test_with_nobody_to_tell_the_audit_says_so(
    nurse, clinic, patient, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        enter(nurse, clinic, patient)
    assert mail.outbox == []
    assert SafetyAlert.objects.get().is_open
    event = notification_events().get()
    assert event.changes["sent_to"] == []
    assert "no active prescriber" in event.changes["not_sent"]


@override_settings(
    EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    EMAIL_HOST="127.0.0.1",
    EMAIL_PORT=1,  # nothing listens here: the connection is refused
    EMAIL_TIMEOUT=2,
)
def test_a_mail_server_that_fails_is_audited_and_the_alert_stands(
    nurse, clinic, patient, on_call, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        enter(nurse, clinic, patient)
    assert SafetyAlert.objects.get().is_open
    event = notification_events().get()
    assert event.changes["sent_to"] == []
    assert on_call.username in event.changes["failed"]


def test_another_clinics_prescribers_are_never_told(
    nurse, clinic, patient, other_clinic, django_capture_on_commit_callbacks
):
    stranger = prescriber_with_email(other_clinic, "stranger")
    other_clinic.on_call_prescriber = stranger
    other_clinic.save()
    with django_capture_on_commit_callbacks(execute=True):
        enter(nurse, clinic, patient)
    assert mail.outbox == []


def test_an_alert_from_the_staff_entry_page_reaches_the_on_call_prescriber(
    as_user, nurse, patient, on_call, django_capture_on_commit_callbacks
):
    url = reverse("measure-enter", kwargs={"pk": patient.pk, "instrument_id": "madrs"})
    with django_capture_on_commit_callbacks(execute=True):
        as_user(nurse).post(url, staff_form_data([0] * 9 + [4]))
    (message,) = mail.outbox
    assert message.to == [on_call.email]


def test_an_on_call_prescriber_with_a_mobile_is_texted_too(
    nurse, clinic, patient, on_call, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    on_call.mobile = "+1 217 555 0199"
    on_call.save()
    with django_capture_on_commit_callbacks(execute=True):
        enter(nurse, clinic, patient)
    (line,) = (tmp_path / "outbox" / "sms.log").read_text().splitlines()
    _, to, body = line.split("\t")
    assert to == "+1 217 555 0199"
    assert patient.mrn in body and "/alerts/#alert-" in body
    for private in ("Ada", "Lovelace", "QIDS", "suicid"):
        assert private not in body
    assert notification_events().get().changes["texted"] == [on_call.username]


def test_a_prescriber_with_only_a_mobile_is_reachable(
    nurse, clinic, patient, prescriber, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    prescriber.email, prescriber.mobile = "", "+1 217 555 0100"
    prescriber.save()
    with django_capture_on_commit_callbacks(execute=True):
        enter(nurse, clinic, patient)
    assert mail.outbox == []
    assert "+1 217 555 0100" in (tmp_path / "outbox" / "sms.log").read_text()
