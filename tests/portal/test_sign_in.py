"""Signing in to the portal with a one-time code: it works once, for a while, for one
patient; failures lock out as a staff password does, with one message; nobody learns whether
a contact is a patient's."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.portal.models import SignInCode
from tests.conftest import make_patient
from tests.portal.conftest import EMAIL, ask_for_code, last_code

pytestmark = pytest.mark.django_db


def _without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


REFUSED = "That code was not accepted. Ask for a new code, or call the clinic."


def test_a_code_by_email_signs_the_patient_in_and_is_audited(clinic, portal_patient):
    client = Client()
    response = ask_for_code(client, clinic, " ADA@example.org ")
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [EMAIL]
    assert portal_patient.given_name not in mail.outbox[0].body  # lock screens show it
    response = client.post(reverse("portal-code", args=[clinic.pk]), {"code": last_code()})
    assert response["Location"] == reverse("portal-home")
    page = client.get(reverse("portal-home"))
    assert page.status_code == 200
    assert "Hello, Ada" in page.content.decode()
    events = AuditEvent.objects.filter(patient_id=portal_patient.pk, role="patient")
    assert {"login", "view"} <= set(events.values_list("action", flat=True))


def test_a_code_by_text_goes_to_the_number_on_the_chart(clinic, portal_patient, settings):
    from tests.reminders.sms import RecordingBackend

    settings.KETACARE_SMS_BACKEND = "tests.reminders.sms.RecordingBackend"
    RecordingBackend.sent.clear()
    ask_for_code(Client(), clinic, "(555) 010-2030")
    assert RecordingBackend.sent[-1][0] == "+1 555 010 2030"


def test_a_code_works_once(clinic, portal_patient):
    client = Client()
    ask_for_code(client, clinic)
    code = last_code()
    client.post(reverse("portal-code", args=[clinic.pk]), {"code": code})
    again = Client()
    again.post(reverse("portal-sign-in", args=[clinic.pk]), {"contact": EMAIL})
    mail.outbox.clear()
    response = again.post(reverse("portal-code", args=[clinic.pk]), {"code": code})
    assert REFUSED in response.content.decode()


def test_an_expired_code_is_refused(clinic, portal_patient):
    client = Client()
    ask_for_code(client, clinic)
    SignInCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(reverse("portal-code", args=[clinic.pk]), {"code": last_code()})
    assert REFUSED in response.content.decode()
    assert "portal_patient_id" not in client.session


def test_five_wrong_codes_lock_the_contact_out_even_for_the_right_code(clinic, portal_patient):
    client = Client()
    ask_for_code(client, clinic)
    code = last_code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        response = client.post(reverse("portal-code", args=[clinic.pk]), {"code": wrong})
        assert REFUSED in response.content.decode()
    response = client.post(reverse("portal-code", args=[clinic.pk]), {"code": code})
    assert REFUSED in response.content.decode()  # the same message, locked or not
    failures = AuditEvent.objects.filter(action="login_failed", object_type="portal")
    assert failures.count() == 6
    assert failures.order_by("-id").first().changes["locked_out"] is True


def test_an_unknown_contact_gets_the_same_answer_and_no_message(clinic, portal_patient):
    known, unknown = Client(), Client()
    a = ask_for_code(known, clinic, EMAIL)
    b = ask_for_code(unknown, clinic, "nobody@example.org")
    assert a.status_code == b.status_code == 302
    assert _without_csrf(known.get(a["Location"])) == _without_csrf(unknown.get(b["Location"]))
    assert len(mail.outbox) == 1


def test_a_contact_shared_by_two_patients_gets_no_code(clinic, nurse, portal_patient):
    from ketacare.patients.actions import create_patient
    from tests.conftest import PATIENT_DATA, actor

    data = {**PATIENT_DATA, "given_name": "Byron", "email": EMAIL}  # a parent and child, say
    create_patient(actor(nurse, clinic), data, confirmed_duplicates=[portal_patient.pk])
    ask_for_code(Client(), clinic)
    assert mail.outbox == []


def test_another_clinics_patient_cannot_sign_in_here(clinic, other_clinic, outsider):
    make_patient(outsider, other_clinic, email="elsewhere@example.org")
    ask_for_code(Client(), clinic, "elsewhere@example.org")
    assert mail.outbox == []


def test_too_many_codes_for_one_contact_are_refused(clinic, portal_patient):
    for _ in range(3):
        assert ask_for_code(Client(), clinic).status_code == 302
    response = ask_for_code(Client(), clinic)
    assert response.status_code == 429
    assert len(mail.outbox) == 3


def test_a_contact_that_is_neither_phone_nor_email_is_refused_with_a_message(clinic):
    response = ask_for_code(Client(), clinic, "not a contact")
    assert response.status_code == 200
    assert "Type the mobile number or the email address" in response.content.decode()


def test_the_session_ends_after_idleness(clinic, portal_patient, portal_client):
    session = portal_client.session
    session["portal_seen_at"] -= 16 * 60
    session.save()
    response = portal_client.get(reverse("portal-home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal-sign-in", args=[clinic.pk])


def test_signing_out_ends_the_session(clinic, portal_client):
    portal_client.post(reverse("portal-sign-out"))
    assert portal_client.get(reverse("portal-home")).status_code == 302


def test_a_staff_member_is_no_patient_in_the_portal(nurse):
    from tests.conftest import client_for

    response = client_for(nurse).get(reverse("portal-home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal-start")


def test_the_portal_speaks_spanish_when_asked(clinic, portal_client):
    portal_client.post(reverse("portal-language"), {"language": "es", "next": "/portal/"})
    page = portal_client.get(reverse("portal-home"))
    assert page["Content-Language"] == "es"
    assert '<html lang="es">' in page.content.decode()


def test_appointments_show_on_the_clinics_clock(
    clinic, portal_patient, portal_client, clinic_admin, coordinator
):
    from datetime import UTC, datetime, time

    from ketacare.accounts.models import Clinic
    from ketacare.accounts.permissions import Role
    from ketacare.scheduling import actions as scheduling
    from tests.conftest import actor

    Clinic.objects.filter(pk=clinic.pk).update(time_zone="America/Chicago")
    clinic.refresh_from_db()
    admin = actor(clinic_admin, clinic, Role.CLINIC_ADMIN)
    scheduling.set_opening_hours(admin, {day: (time(0), time(23, 59)) for day in range(7)})
    chair = scheduling.add_chair(admin, "Chair 1", [])
    day = timezone.localdate() + timedelta(days=3)
    start = datetime.combine(day, time(16), tzinfo=UTC)  # 10:00 or 11:00 in Chicago
    scheduling.book(
        actor(coordinator, clinic, Role.COORDINATOR),
        patient_id=portal_patient.pk,
        kind="follow_up",
        start=start,
        end=start + timedelta(hours=1),
        chair_id=chair.pk,
    )
    local = timezone.localtime(start, clinic.zone)
    page = portal_client.get(reverse("portal-home")).content.decode()
    assert f"{local:%H:%M}" in page and "16:00" not in page


def test_a_code_that_cannot_be_sent_changes_nothing_the_page_says(clinic, portal_patient, settings):
    settings.KETACARE_SMS_BACKEND = "tests.reminders.sms.DownBackend"
    known = ask_for_code(Client(), clinic, "(555) 010-2030")
    assert known.status_code == 302  # the same answer as when it went out
    assert SignInCode.objects.count() == 1  # kept: a later code replaces it
