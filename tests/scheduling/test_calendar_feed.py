"""A staff member's private iCalendar feed: made, rotated and stopped from "My calendar
feed", read by token without signing in, with initials and times only (no health
information), every read audited; an unknown, rotated or stopped token is not found."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from ketacare.accounts.actions import create_staff
from ketacare.accounts.models import Membership
from ketacare.actor import SYSTEM
from ketacare.audit.models import AuditEvent
from ketacare.scheduling import actions
from ketacare.scheduling.feed import digest
from ketacare.scheduling.models import CalendarFeed
from tests.conftest import PASSWORD, client_for
from tests.scheduling.conftest import MONDAY, at, book
from tests.scheduling.test_ical import unfold


def make_feed(user, do="make") -> str:
    """The feed's path (the URL the page shows, without its host)."""
    response = client_for(user).post(reverse("schedule-feed-page"), {"do": do})
    assert response.status_code == 200
    url = response.context["url"]
    assert url and url.endswith(".ics")
    return url[url.index("/schedule/feed/") :]


def fetch(path):
    return Client().get(path)


def events(text):
    """Each VEVENT's properties (unfolded), in order."""
    found, current = [], None
    for line in unfold(text):
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            found.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name] = value
    return found


def test_the_feed_lists_the_staff_members_appointments_by_initials_and_time(
    booker, chairs, patient, nurse, prescriber
):
    mine = book(booker, patient, chairs[0], at(MONDAY, 9), staff_id=nurse.pk)
    book(booker, patient, chairs[1], at(MONDAY, 13), staff_id=prescriber.pk)
    response = fetch(make_feed(nurse))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    (event,) = events(response.content.decode())
    assert event["UID"] == f"appointment-{mine.pk}@ketacare"
    assert event["SUMMARY"] == "A.L. – Appointment"
    assert event["LOCATION"] == "Chair 1"
    assert event["DTSTART"] == at(MONDAY, 9).strftime("%Y%m%dT%H%M%SZ")
    assert event["STATUS"] == "CONFIRMED"


def test_no_health_information_is_in_the_feed(booker, chair, patient, nurse, prescriber, clinic):
    from tests.planning.conftest import signed_plan

    plan = signed_plan(prescriber, clinic, patient)
    planned = plan.sessions.get(number=1)
    dose = {"kind": "dosing", "planned_id": planned.pk}
    book(booker, patient, chair, at(MONDAY, 9), staff_id=nurse.pk, **dose)
    book(booker, patient, None, at(MONDAY, 16), hours=1, kind="telehealth", staff_id=nurse.pk)
    book(
        booker,
        patient,
        chair,
        at(MONDAY + timedelta(days=1), 9),
        kind="evaluation",
        staff_id=nurse.pk,
    )
    text = fetch(make_feed(nurse)).content.decode()
    assert len(events(text)) == 3
    # The clinic's own name may name the drug: the calendar is not named after it.
    assert "ketamine" in clinic.name.lower()
    words = text.lower()
    for secret in [
        patient.given_name,
        patient.family_name,
        patient.mrn,
        patient.date_of_birth.isoformat(),
        patient.allergies,
        "ketamine",
        "dosing",
        "dose",
        "evaluation",
        "telehealth",
        "follow",
        "infusion",
        "protocol",
        plan.protocol_id,
        "depress",
        "diagnos",
    ]:
        assert secret.lower() not in words, secret
    # Only these properties: nothing else to carry a note.
    names = {line.partition(":")[0] for line in unfold(text) if line}
    assert names <= {
        "BEGIN", "END", "VERSION", "PRODID", "CALSCALE", "METHOD", "X-WR-CALNAME",
        "UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "SUMMARY", "LOCATION", "STATUS",
    }  # fmt: skip


def test_a_moved_appointment_keeps_its_uid_and_a_cancelled_one_is_marked(
    booker, chairs, patient, nurse
):
    moved = book(booker, patient, chairs[0], at(MONDAY, 9), staff_id=nurse.pk)
    gone = book(booker, patient, chairs[1], at(MONDAY, 13), staff_id=nurse.pk)
    path = make_feed(nurse)
    before = {e["UID"]: e for e in events(fetch(path).content.decode())}
    actions.reschedule(
        booker, moved.pk, start=at(MONDAY, 10), end=at(MONDAY, 12), chair_id=chairs[0].pk
    )
    actions.cancel(booker, gone.pk, "Patient unwell")
    after = {e["UID"]: e for e in events(fetch(path).content.decode())}
    assert after.keys() == before.keys()
    uid = f"appointment-{moved.pk}@ketacare"
    assert after[uid]["DTSTART"] == at(MONDAY, 10).strftime("%Y%m%dT%H%M%SZ")
    assert int(after[uid]["SEQUENCE"]) > int(before[uid]["SEQUENCE"])
    assert after[f"appointment-{gone.pk}@ketacare"]["STATUS"] == "CANCELLED"


def test_every_read_is_audited(booker, chair, patient, nurse, clinic):
    appointment = book(booker, patient, chair, at(MONDAY, 9), staff_id=nurse.pk)
    path = make_feed(nurse)
    fetch(path)
    fetch(path)
    reads = AuditEvent.objects.filter(object_type="calendarfeed", action="view")
    assert reads.count() == 2
    event = reads.last()
    assert (event.actor, event.clinic) == (nurse, clinic)
    assert event.changes == {"appointments": [appointment.pk]}
    # Made once, audited too; neither the token nor its digest in the trail.
    made = AuditEvent.objects.get(object_type="calendarfeed", action="create")
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    assert token not in str(made.changes) and digest(token) not in str(made.changes)


def test_only_a_digest_of_the_token_is_stored(nurse):
    path = make_feed(nurse)
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    feed = CalendarFeed.objects.get(staff=nurse)
    assert feed.token_digest == digest(token) and token not in feed.token_digest


def test_a_rotated_or_stopped_token_is_not_found(nurse):
    old = make_feed(nurse)
    new = make_feed(nurse, do="rotate")
    assert fetch(old).status_code == 404
    assert fetch(new).status_code == 200
    assert CalendarFeed.objects.filter(staff=nurse).count() == 1
    response = client_for(nurse).post(reverse("schedule-feed-page"), {"do": "stop"}, follow=True)
    assert "no longer works" in response.content.decode()
    assert fetch(new).status_code == 404
    assert not CalendarFeed.objects.filter(staff=nurse).exists()


@pytest.mark.parametrize(
    "token",
    ["nothing", "A" * 43, "../../etc/passwd", "A" * 42 + "!", "x" * 500],
)
def test_an_unknown_token_is_not_found(nurse, token):
    make_feed(nurse)
    assert Client().get(f"/schedule/feed/{token}.ics").status_code == 404


def test_a_staff_member_who_left_loses_the_feed(nurse):
    path = make_feed(nurse)
    Membership.objects.filter(user=nurse).update(active=False)
    assert fetch(path).status_code == 404


def test_another_clinics_staff_member_sees_only_their_own_clinic(
    booker, chair, patient, nurse, other_clinic
):
    book(booker, patient, chair, at(MONDAY, 9), staff_id=nurse.pk)
    # The same person also works at another clinic: that clinic's feed is of that clinic.
    Membership.objects.create(user=nurse, clinic=other_clinic, role="nurse")
    client = client_for(nurse)
    client.post(reverse("switch-clinic"), {"clinic": other_clinic.pk})
    response = client.post(reverse("schedule-feed-page"), {"do": "make"})
    url = response.context["url"]
    assert events(fetch(url[url.index("/schedule/feed/") :]).content.decode()) == []
    stranger = create_staff(
        SYSTEM, clinic=other_clinic, username="stranger", password=PASSWORD, role="nurse"
    )
    assert events(fetch(make_feed(stranger)).content.decode()) == []


def test_the_page_never_shows_an_old_address_again(nurse):
    make_feed(nurse)
    response = client_for(nurse).get(reverse("schedule-feed-page"))
    assert response.context["url"] is None
    assert "/schedule/feed/" not in response.content.decode()
    assert "Make a new address" in response.content.decode()


def test_researchers_have_no_feed(researcher):
    assert client_for(researcher).get(reverse("schedule-feed-page")).status_code == 403
    assert client_for(researcher).post(reverse("schedule-feed-page")).status_code == 403


def test_a_calendar_application_may_ask_with_head_but_not_post(nurse):
    path = make_feed(nurse)
    head = Client().head(path)
    assert head.status_code == 200 and head["Content-Type"].startswith("text/calendar")
    assert Client().post(path).status_code == 405
