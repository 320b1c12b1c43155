"""Messages between a patient and the clinic: the patient writes from the portal (with the
crisis lines above the form) or asks to change an appointment, staff see who waits in the
inbox and answer from the chart, and the patient is told a message waits, without its
content and only as their consent allows."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from django.db import DatabaseError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.permissions import Role
from ketacare.audit.models import AuditEvent
from ketacare.patients.actions import record_consent
from ketacare.portal import messaging
from ketacare.portal.models import PortalMessage
from ketacare.scheduling import actions as scheduling
from tests.conftest import actor, client_for, make_patient
from tests.portal.conftest import EMAIL

pytestmark = pytest.mark.django_db

Direction = PortalMessage.Direction


def consent_to_messages(nurse, clinic, patient, decision="granted"):
    record_consent(
        actor(nurse, clinic),
        patient,
        {
            "kind": "measurement_links",
            "decision": decision,
            "version": "v1",
            "signed_at": timezone.now(),
            "signed_by": patient.full_name,
        },
    )


@pytest.fixture
def chair(clinic, clinic_admin):
    admin = actor(clinic_admin, clinic, Role.CLINIC_ADMIN)
    scheduling.set_opening_hours(admin, {day: (time(0), time(23, 59)) for day in range(7)})
    return scheduling.add_chair(admin, "Chair 1", ["iv_pump"])


def book(coordinator, clinic, patient, chair, start):
    booker = actor(coordinator, clinic, Role.COORDINATOR)
    if start < timezone.now():
        booker = booker.at(start - timedelta(days=1))
    return scheduling.book(
        booker,
        patient_id=patient.pk,
        kind="follow_up",
        start=start,
        end=start + timedelta(hours=1),
        chair_id=chair.pk,
    )


def tomorrow_at(hour: int) -> datetime:
    return datetime.combine(timezone.localdate() + timedelta(days=1), time(hour), tzinfo=UTC)


def write(client: Client, body: str):
    return client.post(reverse("portal-messages"), {"body": body})


def test_the_message_page_says_it_is_not_urgent_and_gives_the_crisis_lines(portal_client):
    page = portal_client.get(reverse("portal-messages")).content.decode()
    form = page.index('name="body"')
    notice = page.index("not around the clock")
    assert notice < form
    assert "988" in page[notice:form] and "911" in page[notice:form]


def test_a_patients_message_reaches_the_inbox_and_chart_and_the_reply_reaches_the_patient(
    clinic, nurse, portal_patient, portal_client, settings
):
    from tests.reminders.sms import RecordingBackend

    settings.KETACARE_SMS_BACKEND = "tests.reminders.sms.RecordingBackend"
    RecordingBackend.sent.clear()
    consent_to_messages(nurse, clinic, portal_patient)
    response = write(portal_client, "  Can I take my usual\nmedication before the session?  ")
    assert response.status_code == 302
    assert "Your message was sent" in portal_client.get(response["Location"]).content.decode()
    message = PortalMessage.objects.get()
    assert (message.direction, message.clinic, message.author) == (
        Direction.FROM_PATIENT,
        clinic,
        None,
    )
    assert message.body == "Can I take my usual\nmedication before the session?"
    event = AuditEvent.objects.get(object_type="portal_message")
    assert (event.role, event.patient_id, event.changes["characters"]) == (
        "patient",
        portal_patient.pk,
        len(message.body),
    )
    assert "medication" not in str(event.changes)  # the message is kept, not copied

    staff = client_for(nurse)
    inbox = staff.get(reverse("message-inbox"))
    assert [p.pk for p in inbox.context["page"]] == [portal_patient.pk]
    assert "Can I take my usual" in inbox.content.decode()
    chart = staff.get(reverse("patient-chart", args=[portal_patient.pk])).content.decode()
    assert "medication before the session" in chart and "Waiting for an answer" in chart

    mail.outbox.clear()
    response = staff.post(
        reverse("message-reply", args=[portal_patient.pk]), {"body": "Yes, as usual."}
    )
    assert response["Location"].endswith("#messages")
    said = staff.get(response["Location"]).content.decode()
    assert "The patient is told by a text message that a message waits" in said
    reply = PortalMessage.objects.latest("id")
    assert (reply.direction, reply.author) == (Direction.FROM_CLINIC, nurse)
    assert list(staff.get(reverse("message-inbox")).context["page"]) == []

    # Told by text (there is a phone), without the content or the clinic's name.
    (to, text), *_ = RecordingBackend.sent
    assert to == portal_patient.phone and len(RecordingBackend.sent) == 1
    assert "as usual" not in text and clinic.name not in text
    assert reverse("portal-sign-in", args=[clinic.pk]) in text
    assert mail.outbox == []

    home = portal_client.get(reverse("portal-home")).content.decode()
    assert "written to you once since your last message" in home
    thread = portal_client.get(reverse("portal-messages")).content.decode()
    assert thread.index("medication before") < thread.index("Yes, as usual.")


def test_no_consent_no_notification_but_the_reply_is_kept(
    clinic, nurse, portal_patient, portal_client, settings
):
    from tests.reminders.sms import RecordingBackend

    settings.KETACARE_SMS_BACKEND = "tests.reminders.sms.RecordingBackend"
    RecordingBackend.sent.clear()
    write(portal_client, "Hello")
    mail.outbox.clear()
    client_for(nurse).post(reverse("message-reply", args=[portal_patient.pk]), {"body": "Hi"})
    assert RecordingBackend.sent == [] and mail.outbox == []
    event = AuditEvent.objects.filter(object_type="portal_message").latest("id")
    assert event.changes["not_notified"] == "no_contact_consent"
    said = client_for(nurse).post(
        reverse("message-reply", args=[portal_patient.pk]), {"body": "Hi"}, follow=True
    )
    assert "The patient was not told that it waits (No consent" in said.content.decode()
    consent_to_messages(nurse, clinic, portal_patient, decision="withdrawn")
    client_for(nurse).post(reverse("message-reply", args=[portal_patient.pk]), {"body": "Hi"})
    assert RecordingBackend.sent == [] and mail.outbox == []
    assert PortalMessage.objects.filter(direction=Direction.FROM_CLINIC).count() == 3


def test_by_email_when_there_is_no_phone_and_a_failed_send_loses_nothing(clinic, nurse, settings):
    patient = make_patient(nurse, clinic, email=EMAIL, phone="")
    consent_to_messages(nurse, clinic, patient)
    mail.outbox.clear()
    messaging.reply(actor(nurse, clinic), patient.pk, "Your results are in the portal.")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [EMAIL]
    assert "results" not in mail.outbox[0].body + mail.outbox[0].subject
    settings.EMAIL_BACKEND = "tests.portal.test_messages.BrokenMail"
    messaging.reply(actor(nurse, clinic), patient.pk, "And another.")
    assert PortalMessage.objects.filter(patient=patient).count() == 2


class BrokenMail:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("The mail server is down.")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("   \n ", "Please write your message."),
        ("x" * 2001, "under 2000 characters (it has 2001)"),
    ],
)
def test_an_empty_or_too_long_message_is_refused_and_nothing_is_written(portal_client, body, says):
    response = write(portal_client, body)
    assert response.status_code == 200
    assert says in response.content.decode()
    assert not PortalMessage.objects.exists()
    assert not AuditEvent.objects.filter(object_type="portal_message").exists()


def test_past_the_days_number_a_message_is_refused(portal_client):
    for n in range(5):
        assert write(portal_client, f"Message {n}").status_code == 302
    response = write(portal_client, "One more")
    assert "as many as the clinic takes in a day" in response.content.decode()
    assert PortalMessage.objects.count() == 5


def test_ask_to_change_an_own_upcoming_appointment(
    clinic, coordinator, chair, portal_patient, portal_client
):
    appointment = book(coordinator, clinic, portal_patient, chair, tomorrow_at(10))
    home = portal_client.get(reverse("portal-home")).content.decode()
    url = reverse("portal-change-appointment", args=[appointment.pk])
    assert url in home
    assert "not around the clock" in portal_client.get(url).content.decode()
    response = portal_client.post(url, {"body": "Could it be in the afternoon?"})
    assert response.status_code == 302
    message = PortalMessage.objects.get()
    assert message.appointment == appointment
    assert message.body.startswith("Please change my appointment on ")
    assert message.body.endswith(": Could it be in the afternoon?")
    appointment.refresh_from_db()
    assert appointment.state == "booked" and appointment.start == tomorrow_at(10)


def test_another_patients_appointment_is_not_found(
    clinic, nurse, coordinator, chair, portal_patient, portal_client
):
    other = make_patient(nurse, clinic, given_name="Mary", family_name="Somerville")
    appointment = book(coordinator, clinic, other, chair, tomorrow_at(10))
    url = reverse("portal-change-appointment", args=[appointment.pk])
    assert portal_client.get(url).status_code == 404
    assert portal_client.post(url, {"body": "Later please"}).status_code == 404
    assert not PortalMessage.objects.exists()


def test_a_past_or_cancelled_appointment_is_refused_with_why(
    clinic, coordinator, chair, portal_patient, portal_client
):
    yesterday = datetime.combine(timezone.localdate() - timedelta(days=1), time(10), tzinfo=UTC)
    past = book(coordinator, clinic, portal_patient, chair, yesterday)
    response = portal_client.post(
        reverse("portal-change-appointment", args=[past.pk]), {"body": "Later"}
    )
    assert response.status_code == 409
    assert "This appointment has passed." in response.content.decode()
    cancelled = book(coordinator, clinic, portal_patient, chair, tomorrow_at(12))
    scheduling.cancel(actor(coordinator, clinic, Role.COORDINATOR), cancelled.pk, "Unwell")
    response = portal_client.post(
        reverse("portal-change-appointment", args=[cancelled.pk]), {"body": "Later"}
    )
    assert response.status_code == 409
    assert "This appointment was cancelled." in response.content.decode()
    assert not PortalMessage.objects.exists()


def test_messages_are_append_only(clinic, nurse, portal_patient, portal_client):
    write(portal_client, "First")
    message = PortalMessage.objects.get()
    message.body = "Changed"
    with pytest.raises(DatabaseError), transaction.atomic():
        message.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        PortalMessage.objects.filter(pk=message.pk).update(body="Changed")
    assert PortalMessage.objects.get().body == "First"


def test_another_clinics_staff_cannot_reply_or_see_the_message(
    portal_patient, portal_client, outsider
):
    write(portal_client, "Hello")
    staff = client_for(outsider)
    url = reverse("message-reply", args=[portal_patient.pk])
    assert staff.post(url, {"body": "Hi"}).status_code == 404
    assert staff.get(url).status_code == 404
    inbox = staff.get(reverse("message-inbox"))
    assert list(inbox.context["page"]) == [] and "Hello" not in inbox.content.decode()
    assert PortalMessage.objects.count() == 1


def test_an_empty_reply_is_refused_with_a_message(nurse, portal_patient, portal_client):
    staff = client_for(nurse)
    response = staff.post(
        reverse("message-reply", args=[portal_patient.pk]), {"body": " "}, follow=True
    )
    assert "Please write your message." in response.content.decode()
    assert not PortalMessage.objects.exists()


def test_roles_without_messages_neither_read_nor_reply(clinic_admin, researcher, portal_patient):
    for user in (clinic_admin, researcher):
        client = client_for(user)
        assert client.get(reverse("message-inbox")).status_code == 403
        url = reverse("message-reply", args=[portal_patient.pk])
        assert client.post(url, {"body": "Hi"}).status_code == 403


def test_the_inbox_lists_the_longest_waiting_first_in_a_bounded_number_of_queries(
    clinic, nurse, django_assert_max_num_queries
):
    staff = actor(nurse, clinic)
    start = timezone.now() - timedelta(days=2)
    patients = [
        make_patient(nurse, clinic, given_name=f"P{n}", family_name=f"Waiting{n}")
        for n in range(12)
    ]
    # Written newest patient first: the order of the list comes from the times, not the ids.
    for n, patient in enumerate(reversed(patients)):
        patient_actor = actor(None, clinic, "patient").at(start + timedelta(minutes=n))
        messaging.send_message(patient_actor, patient, f"Question {n}")
        messaging.send_message(patient_actor.at(start + timedelta(hours=1)), patient, "More")
    # Answered ones drop out; one answered then written to again is back, from its new one.
    messaging.reply(staff, patients[0].pk, "Answered")
    messaging.reply(staff, patients[1].pk, "Answered")
    messaging.send_message(actor(None, clinic, "patient"), patients[1], "And again")
    client = client_for(nurse)
    client.get(reverse("message-inbox"))
    # 13 whatever the number of patients: the sign-in's four, the audit event's five, the
    # alert count and memberships of the top bar, the page's count and its rows (one each).
    with django_assert_max_num_queries(13):
        response = client.get(reverse("message-inbox"))
    listed = list(response.context["page"])
    expected = [*reversed(patients[2:]), patients[1]]
    assert [p.pk for p in listed] == [p.pk for p in expected]
    assert [p.waiting_count for p in listed] == [2] * 10 + [1]
    assert listed[-1].preview == "And again"


def test_the_charts_messages_take_one_query_however_many_there_are(
    clinic, nurse, portal_patient, django_assert_max_num_queries
):
    client = client_for(nurse)
    url = reverse("patient-chart", args=[portal_patient.pk])
    client.get(url)
    start = timezone.now() - timedelta(days=31)
    for n in range(30):  # one a day: the day's number of messages is not the point here
        messaging.send_message(
            actor(None, clinic, "patient").at(start + timedelta(days=n)), portal_patient, f"Q{n}"
        )
        messaging.reply(
            actor(nurse, clinic).at(start + timedelta(days=n, minutes=5)),
            portal_patient.pk,
            f"A{n}",
        )
    with django_assert_max_num_queries(20):  # as tests/patients/test_chart.py
        page = client.get(url).content.decode()
    # The latest twenty, oldest first.
    assert "A29" in page and "Q20" in page and "Q19" not in page
    assert page.index("Q20") < page.index("A29")


def test_only_the_care_team_replies_whatever_the_path(clinic, clinic_admin, portal_patient):
    from ketacare.accounts.permissions import Role
    from ketacare.actor import Actor
    from ketacare.portal import messaging
    from ketacare.portal.models import PortalMessage
    from tests.conftest import actor

    for who in (
        actor(clinic_admin, clinic, Role.CLINIC_ADMIN),
        Actor(user=None, role="patient", clinic=clinic),
    ):
        with pytest.raises(messaging.MessageRefused):
            messaging.reply(who, portal_patient.pk, "Hello")
    assert not PortalMessage.objects.exists()
