"""The audit log page: clinic admins only, their clinic only, filterable, and a fixed number of
queries however long the log is."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.audit.record import Action, record
from tests.conftest import actor, make_patient

URL = reverse("audit-log")
# Session, user, membership, the count, one query for the rows (patients joined), the page's own
# audit event with its chain-head lock and savepoints, the template's staff context: 15 today.
# A little headroom, but far below one query per row (50 rows on a full page).
MAX_QUERIES = 18


def shown(response):
    return list(response.context["page"].object_list)


@pytest.fixture
def admin_client(as_user, clinic_admin):
    return as_user(clinic_admin)


@pytest.fixture
def two_patients(clinic, nurse, prescriber, as_user):
    ada = make_patient(nurse, clinic)
    mary = make_patient(prescriber, clinic, given_name="Mary", family_name="Somerville")
    as_user(prescriber).get(reverse("patient-chart", args=[ada.pk]))
    return ada, mary


# Who may see it.


@pytest.mark.parametrize("role", ["prescriber", "nurse", "coordinator", "researcher"])
def test_only_the_clinic_admin_may_open_it(as_user, staff, role):
    assert as_user(staff[role]).get(URL).status_code == 403


def test_clinic_admin_gets_the_page(admin_client):
    response = admin_client.get(URL)
    assert response.status_code == 200
    assert b"Audit log" in response.content


def test_another_clinics_nurse_is_refused(as_user, outsider):
    assert as_user(outsider).get(URL).status_code == 403


def test_anonymous_is_sent_to_login(db, client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# What it shows.


def test_lists_the_clinics_events_newest_first(admin_client, two_patients):
    response = admin_client.get(URL)
    events = shown(response)
    assert events
    assert [e.pk for e in events] == sorted((e.pk for e in events), reverse=True)
    ada, _ = two_patients
    assert ada.mrn.encode() in response.content


def test_events_of_another_clinic_never_appear(
    admin_client, clinic, two_patients, outsider, outsider_patient, as_user
):
    as_user(outsider).get(reverse("patient-chart", args=[outsider_patient.pk]))
    as_user(outsider).get(reverse("patient-list"), {"q": "hopper"})
    foreign = AuditEvent.objects.exclude(clinic=clinic).exclude(clinic=None)
    assert foreign.filter(actor_username="outsider").count() >= 3

    for params in [{}, {"user": "outsider"}, {"action": "search"}, {"date_from": "2000-01-01"}]:
        response = admin_client.get(URL, params)
        assert response.status_code == 200
        assert all(e.clinic_id == clinic.pk for e in shown(response)), params
        assert b"<td>outsider</td>" not in response.content
        assert b"hopper" not in response.content.lower()
    # The other clinic's first patient has the same MRN as ours: only our events come back.
    ada, _ = two_patients
    assert outsider_patient.mrn == ada.mrn
    events = shown(admin_client.get(URL, {"patient": outsider_patient.mrn}))
    assert events
    assert {e.patient_id for e in events} == {ada.pk}


def test_failed_logins_without_a_clinic_do_not_appear(admin_client, client):
    client.post(reverse("login"), {"username": "mallory", "password": "guess guess guess"})
    assert AuditEvent.objects.filter(action="login_failed").exists()
    response = admin_client.get(URL, {"action": "login_failed"})
    assert shown(response) == []
    assert b"No events match." in response.content


# Filters.


def test_filter_by_patient_mrn(admin_client, two_patients):
    _, mary = two_patients
    events = shown(admin_client.get(URL, {"patient": f" {mary.mrn} "}))
    assert events
    assert {e.patient_id for e in events} == {mary.pk}
    assert {e.object_type for e in events} == {"patient", "bodymeasurement"}


def test_filter_by_username(admin_client, two_patients, prescriber):
    events = shown(admin_client.get(URL, {"user": "prescriber"}))
    assert {e.actor_username for e in events} == {"prescriber"}
    assert {e.action for e in events} >= {"create", "view"}
    assert len(events) == AuditEvent.objects.filter(actor=prescriber).count()


def test_filter_by_action(admin_client, two_patients):
    events = shown(admin_client.get(URL, {"action": "create", "user": "nurse"}))
    assert events
    assert {e.action for e in events} == {"create"}
    assert {e.actor_username for e in events} == {"nurse"}


def test_unknown_action_is_a_field_error(admin_client, two_patients):
    response = admin_client.get(URL, {"action": "nonsense"})
    assert response.status_code == 200
    assert "action" in response.context["form"].errors


def test_filters_combine(admin_client, two_patients):
    ada, _ = two_patients
    events = shown(admin_client.get(URL, {"patient": ada.mrn, "action": "view"}))
    assert len(events) == 1
    assert (events[0].actor_username, events[0].patient_id) == ("prescriber", ada.pk)


@pytest.fixture
def dated_events(clinic, nurse):
    """One registration (two events) at each of these instants, UTC."""
    instants = {
        "jan": datetime(2024, 1, 15, 12, 0, tzinfo=UTC),
        "feb_first": datetime(2024, 2, 1, 0, 0, 0, tzinfo=UTC),
        "feb_last": datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),
        "mar": datetime(2024, 3, 1, 0, 0, 0, tzinfo=UTC),
    }
    patients = {}
    for key, instant in instants.items():
        with time_machine.travel(instant, tick=False):
            patients[key] = make_patient(nurse, clinic, given_name=key.replace("_", ""))
    return patients


def patients_shown(response):
    return {e.patient_id for e in shown(response) if e.patient_id}


def test_filter_by_date_range_is_inclusive(admin_client, dated_events):
    response = admin_client.get(URL, {"date_from": "2024-02-01", "date_to": "2024-02-29"})
    assert patients_shown(response) == {dated_events["feb_first"].pk, dated_events["feb_last"].pk}
    for event in shown(response):
        assert (
            datetime(2024, 2, 1, tzinfo=UTC) <= event.occurred_at < datetime(2024, 3, 1, tzinfo=UTC)
        )


def test_filter_from_date_only(admin_client, dated_events):
    response = admin_client.get(URL, {"date_from": "2024-03-01"})
    assert patients_shown(response) == {dated_events["mar"].pk}


def test_filter_to_date_only(admin_client, dated_events):
    response = admin_client.get(URL, {"date_to": "2024-01-31"})
    assert patients_shown(response) == {dated_events["jan"].pk}
    assert {e.action for e in shown(response)} == {"create"}


def test_end_date_before_start_date_is_a_field_error(admin_client, dated_events):
    response = admin_client.get(URL, {"date_from": "2024-03-01", "date_to": "2024-02-01"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "The end date is before the start date." in errors["date_to"]
    assert b"The end date is before the start date." in response.content


# Regression (bug found by this suite): audit_log() counted the events before recording its own
# view event and fetched the rows after, so the new event took a slot and the clinic's OLDEST
# event silently dropped off the end of the page.
def test_every_event_of_a_short_log_is_listed(admin_client, two_patients, clinic):
    expected = set(AuditEvent.objects.filter(clinic=clinic).values_list("pk", flat=True))
    oldest = min(expected)
    response = admin_client.get(URL)
    assert response.context["page"].paginator.num_pages == 1
    listed = {e.pk for e in shown(response)}
    own = AuditEvent.objects.get(object_type="audit_log").pk
    assert oldest in listed, f"oldest event #{oldest} is missing"
    assert expected <= listed <= expected | {own}
    assert len(listed) == len(response.context["page"].object_list)


def test_paging_through_the_log_skips_no_event(admin_client, clinic, nurse):
    # Each page view appends an event, so offset paging may repeat a row at a page boundary
    # (newest first); what must never happen is an event that is on no page at all.
    patient = make_patient(nurse, clinic)
    seed(clinic, nurse, [patient], 60)
    before = set(AuditEvent.objects.filter(clinic=clinic).values_list("pk", flat=True))
    assert len(before) > 50
    first = [e.pk for e in shown(admin_client.get(URL))]
    second = [e.pk for e in shown(admin_client.get(URL, {"page": 2}))]
    assert len(first) == 50
    assert before <= set(first) | set(second), "an event is on neither page"


def test_opening_the_page_is_itself_audited(admin_client, clinic_admin, clinic):
    admin_client.get(URL, {"action": "view"})
    event = AuditEvent.objects.filter(object_type="audit_log").get()
    assert (event.actor, event.action, event.clinic) == (clinic_admin, "view", clinic)
    assert event.changes == {"filters": {"action": "view"}}


# Cost.


def seed(clinic, nurse, patients, count):
    who = actor(nurse, clinic)
    for i in range(count):
        patient = patients[i % len(patients)]
        record(who, Action.VIEW, obj=patient, patient=patient)


def page_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    return len(queries), response


def test_query_count_does_not_grow_with_the_log(
    admin_client, clinic, nurse, django_assert_max_num_queries
):
    patients = [make_patient(nurse, clinic, given_name=f"P{i}") for i in range(5)]
    newest = AuditEvent.objects.order_by("-id").first().pk
    seed(clinic, nurse, patients, 5)
    # Warm up: the first request of a session also writes its idle-logoff mark.
    page_queries(admin_client)
    with django_assert_max_num_queries(MAX_QUERIES):
        small, response = page_queries(admin_client)
    seeded = set(AuditEvent.objects.filter(pk__gt=newest, action="view", object_type="patient"))
    assert len(seeded) == 5
    assert seeded <= set(shown(response))

    seed(clinic, nurse, patients, 55)  # 60 seeded in all
    with django_assert_max_num_queries(MAX_QUERIES):
        large, response = page_queries(admin_client)
    assert len(shown(response)) == 50
    assert response.context["page"].paginator.num_pages > 1
    assert large == small, f"{small} queries with a short log, {large} with a long one"


def test_behind_the_proxy_the_forwarded_client_address_is_recorded(
    settings, as_user, nurse, patient
):
    settings.KETACARE_BEHIND_TLS_PROXY = True
    client = as_user(nurse)
    client.get(
        reverse("patient-chart", args=[patient.pk]),
        HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.7",
        REMOTE_ADDR="10.0.0.2",
        secure=True,
    )
    event = AuditEvent.objects.filter(action="view", patient=patient).latest("id")
    assert event.ip == "198.51.100.7"  # the entry our proxy added, not a client-supplied one
