import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.clinical.instruments import INSTRUMENT_IDS, get
from ketacare.measures import links
from ketacare.measures.models import PatientLink
from tests.conftest import make_patient
from tests.measures.helpers import contact_consent

SENT: list[tuple[str, str]] = []


class CapturingSmsBackend:
    """Keeps text messages in SENT instead of sending them."""

    def send(self, to: str, body: str) -> None:
        SENT.append((to, body))


class BrokenSmsBackend:
    def send(self, to: str, body: str) -> None:
        raise OSError("SMS provider unreachable")


@pytest.fixture
def sms(settings):
    SENT.clear()
    settings.KETACARE_SMS_BACKEND = f"{__name__}.CapturingSmsBackend"
    return SENT


@pytest.fixture
def reachable_patient(nurse, clinic):
    """A patient with a phone, an email and consent to be sent questionnaires that way."""
    patient = make_patient(nurse, clinic, email="ada@example.org", phone="+1 555 010 0199")
    contact_consent(nurse, patient)
    return patient


def send_url(patient):
    return reverse("measure-send-link", args=[patient.pk])


def link_url(link):
    return settings.KETACARE_BASE_URL.rstrip("/") + reverse(
        "patient-link", args=[links.token_for(link.public_id)]
    )


def assert_discloses_nothing(text, patient, link):
    # The message shows on a lock screen: no name, MRN, or questionnaire in it. The link itself
    # is random, so it is taken out before looking.
    rest = text.replace(link_url(link), "")
    instrument = get(link.instrument_id)
    for secret in (
        patient.given_name,
        patient.family_name,
        patient.mrn,
        instrument.id,
        instrument.short_name,
        instrument.name,
        "depress",
    ):
        assert secret.lower() not in rest.lower()


def test_coordinator_emails_a_link(as_user, coordinator, reachable_patient):
    patient = reachable_patient
    response = as_user(coordinator).post(
        send_url(patient), {"instrument_id": "phq9", "channel": "email"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("patient-measures", args=[patient.pk])
    link = PatientLink.objects.get()
    assert (link.patient, link.instrument_id, link.channel) == (patient, "phq9", "email")
    assert link.created_by == coordinator
    assert link.used_at is None
    [message] = mail.outbox
    assert message.to == ["ada@example.org"]
    assert link_url(link) in message.body
    assert link_url(link).startswith("http")
    assert_discloses_nothing(message.body, patient, link)
    assert_discloses_nothing(message.subject, patient, link)


def test_link_expires_after_the_configured_hours(as_user, coordinator, reachable_patient):
    before = timezone.now()
    as_user(coordinator).post(
        send_url(reachable_patient), {"instrument_id": "gad7", "channel": "email"}
    )
    link = PatientLink.objects.get()
    hours = timedelta(hours=settings.KETACARE_LINK_EXPIRY_HOURS)
    assert before + hours <= link.expires_at <= timezone.now() + hours
    assert f"{settings.KETACARE_LINK_EXPIRY_HOURS} hours" in mail.outbox[0].body


def test_sending_a_link_is_audited(as_user, coordinator, reachable_patient):
    as_user(coordinator).post(
        send_url(reachable_patient), {"instrument_id": "phq9", "channel": "email"}
    )
    link = PatientLink.objects.get()
    event = AuditEvent.objects.get(action="create", object_type="patient_link")
    assert event.object_id == str(link.pk)
    assert event.actor == coordinator
    assert event.patient == reachable_patient
    assert event.changes["channel"] == {"old": None, "new": "email"}


def test_coordinator_texts_a_link(as_user, coordinator, reachable_patient, sms):
    as_user(coordinator).post(
        send_url(reachable_patient), {"instrument_id": "phq9", "channel": "sms"}
    )
    link = PatientLink.objects.get()
    assert link.channel == "sms"
    [(to, body)] = sms
    assert to == "+1 555 010 0199"
    assert link_url(link) in body
    assert_discloses_nothing(body, reachable_patient, link)
    assert mail.outbox == []


def test_default_sms_backend_writes_the_outbox_file(
    as_user, coordinator, reachable_patient, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    settings.KETACARE_SMS_BACKEND = "ketacare.measures.sms.FileBackend"
    as_user(coordinator).post(
        send_url(reachable_patient), {"instrument_id": "phq9", "channel": "sms"}
    )
    link = PatientLink.objects.get()
    [line] = (tmp_path / "outbox" / "sms.log").read_text("utf-8").splitlines()
    _, to, body = line.split("\t")
    assert to == "+1 555 010 0199"
    assert link_url(link) in body
    assert_discloses_nothing(body, reachable_patient, link)


def test_in_clinic_link_sends_nothing_and_shows_the_url(
    as_user, coordinator, reachable_patient, sms
):
    response = as_user(coordinator).post(
        send_url(reachable_patient), {"instrument_id": "phq9", "channel": "in_clinic"}, follow=True
    )
    link = PatientLink.objects.get()
    assert mail.outbox == []
    assert sms == []
    assert link_url(link) in response.content.decode()


@pytest.mark.parametrize(
    ("channel", "message"),
    [("email", "no email address is on record"), ("sms", "no phone number is on record")],
)
def test_no_address_means_no_link(as_user, coordinator, patient, sms, channel, message):
    # The conftest patient has neither email nor phone; consent alone is not enough.
    contact_consent(coordinator, patient)
    response = as_user(coordinator).post(
        send_url(patient), {"instrument_id": "phq9", "channel": channel}, follow=True
    )
    html = response.content.decode()
    assert f"No link was sent: {message}." in html
    assert f'<a href="{reverse("patient-edit", args=[patient.pk])}">' in html
    assert PatientLink.objects.count() == 0
    assert mail.outbox == []
    assert sms == []
    assert not AuditEvent.objects.filter(object_type="patient_link").exists()


def test_a_failed_send_keeps_no_link(as_user, coordinator, reachable_patient, settings):
    settings.KETACARE_SMS_BACKEND = f"{__name__}.BrokenSmsBackend"
    response = as_user(coordinator).post(
        send_url(reachable_patient), {"instrument_id": "phq9", "channel": "sms"}, follow=True
    )
    assert "could not be sent" in response.content.decode()
    assert PatientLink.objects.count() == 0
    assert not AuditEvent.objects.filter(object_type="patient_link").exists()


def test_clinician_rated_scales_are_not_offered(as_user, coordinator, reachable_patient):
    form = (
        as_user(coordinator)
        .get(reverse("patient-measures", args=[reachable_patient.pk]))
        .context["link_form"]
    )
    offered = {value for value, _ in form.fields["instrument_id"].choices}
    assert "phq9" in offered
    assert {"madrs", "ybocs", "cadss", "moaas"}.isdisjoint(offered)


@pytest.mark.parametrize("instrument_id", ["madrs", "ybocs", "nonsense"])
def test_posting_a_clinician_rated_scale_makes_no_link(
    as_user, coordinator, reachable_patient, instrument_id
):
    response = as_user(coordinator).post(
        send_url(reachable_patient),
        {"instrument_id": instrument_id, "channel": "email"},
        follow=True,
    )
    assert "Select a valid choice" in response.content.decode()
    assert PatientLink.objects.count() == 0
    assert mail.outbox == []


def test_only_questionnaires_with_shipped_wording_are_offered(
    as_user, coordinator, reachable_patient
):
    form = (
        as_user(coordinator)
        .get(reverse("patient-measures", args=[reachable_patient.pk]))
        .context["link_form"]
    )
    offered = {value for value, _ in form.fields["instrument_id"].choices}
    expected = {
        i for i in INSTRUMENT_IDS if get(i).respondent == "patient" and get(i).item_text_licensed
    }
    assert offered == expected


@pytest.mark.parametrize("role", ["nurse", "prescriber"])
def test_nurse_and_prescriber_may_send_links(as_user, staff, reachable_patient, role):
    as_user(staff[role]).post(
        send_url(reachable_patient), {"instrument_id": "phq9", "channel": "email"}
    )
    assert PatientLink.objects.get().created_by == staff[role]


@pytest.mark.parametrize("role", ["clinic_admin", "researcher"])
def test_other_roles_may_not_send_links(as_user, staff, reachable_patient, role):
    response = as_user(staff[role]).post(
        send_url(reachable_patient), {"instrument_id": "phq9", "channel": "email"}
    )
    assert response.status_code == 403
    assert PatientLink.objects.count() == 0
    assert mail.outbox == []


def test_another_clinic_cannot_send_to_the_patient(as_user, outsider, reachable_patient):
    response = as_user(outsider).post(
        send_url(reachable_patient), {"instrument_id": "phq9", "channel": "email"}
    )
    assert response.status_code == 404
    assert PatientLink.objects.count() == 0


def test_link_token_is_random_and_carries_no_patient_identifier(
    as_user, coordinator, reachable_patient
):
    client = as_user(coordinator)
    for _ in range(2):
        client.post(send_url(reachable_patient), {"instrument_id": "phq9", "channel": "email"})
    first, second = PatientLink.objects.order_by("pk")
    assert first.public_id != second.public_id
    for link in (first, second):
        public_id, signature = links.token_for(link.public_id).split(":")
        assert public_id == link.public_id
        assert len(public_id) >= 20
        assert re.fullmatch(r"[A-Za-z0-9_-]+", public_id + signature)
        assert reachable_patient.mrn not in public_id
        assert public_id not in (str(reachable_patient.pk), str(link.pk))
