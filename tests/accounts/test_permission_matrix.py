"""Walk every URL with every role, an anonymous user and another clinic's nurse, and check
the answer against the one permission table."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from ketacare.accounts.actions import create_clinic, create_staff
from ketacare.accounts.models import User
from ketacare.accounts.permissions import PATIENT_ACTIONS, PERMISSIONS, Role, allowed
from ketacare.actor import SYSTEM
from ketacare.measures.actions import assign_instrument, record_staff_response
from ketacare.patients.models import Patient
from tests.conftest import PASSWORD, ROLES, _staff, actor, client_for, make_patient
from tests.planning.conftest import signed_plan


def all_views(patterns=None, prefix="", namespace=""):
    """(name, route, view) of every URL; a name within a namespace (the API's) carries it, so
    that ``reverse`` finds it."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from all_views(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield namespace + (entry.name or ""), prefix + str(entry.pattern), entry.callback


VIEWS = sorted((name, route, callback) for name, route, callback in all_views())
PROTECTED = [
    (name, route, cb.ketacare_action)
    for name, route, cb in VIEWS
    if not hasattr(cb, "ketacare_public")
    and not hasattr(cb, "ketacare_portal")
    and not hasattr(cb, "ketacare_api")
]
# The JSON API's endpoints (/api/v1/): the same table, but a caller who is not signed in gets
# 401 and an error body rather than the sign-in page, and their URLs are namespaced.
API = [
    (name, route, cb.ketacare_action)
    for name, route, cb in VIEWS
    if getattr(cb, "ketacare_api", False)
]
# The patient portal's pages: a patient signed in with a one-time code, never a staff role.
PORTAL = [
    (name, route, cb.ketacare_action)
    for name, route, cb in VIEWS
    if getattr(cb, "ketacare_portal", False)
]


def test_every_view_is_in_the_permission_table_or_marked_public():
    for name, _route, callback in VIEWS:
        action = getattr(callback, "ketacare_action", None)
        public = getattr(callback, "ketacare_public", False)
        assert public or action in PERMISSIONS, f"view {name!r} has no permission action"


def test_the_matrix_covers_patient_views():
    assert {name for name, _, _ in PROTECTED} >= {
        "patient-list",
        "patient-new",
        "patient-chart",
        "patient-edit",
        "measurement-new",
        "consent-new",
        "audit-log",
        "staff-list",
        "staff-new",
        "staff-edit",
        "staff-deactivate",
        "staff-reactivate",
        "staff-unlock",
        "planning-worklist",
        "evaluation-detail",
        "evaluation-sign",
        "override-new",
        "plan-detail",
        "plan-sign",
        "reminder-log",
        "reminder-settings",
    }


# URL kwargs that name one clinic's object: another clinic's staff must get 404 for them.
PATIENT_SCOPED = (
    "<int:pk>",
    "<int:alert_id>",
    "<int:evaluation_id>",
    "<int:plan_id>",
    "<int:entry_id>",
    "<int:discrepancy_id>",
    "<int:count_id>",
    "<int:session_id>",
    "<int:session_alert_id>",
    "<int:membership_id>",
    "<int:appointment_id>",
    "<int:staff_id>",
    "<int:referral_alert_id>",
    "<int:referral_id>",
    "<int:consent_id>",
)


def session_objects(prescriber, nurse, clinic, supply):
    """A dosed IV session with an open alert (a severe blood pressure while monitoring)."""
    from ketacare.accounts.models import Clinic
    from ketacare.treatments import actions as treatments
    from tests.treatments import conftest as day

    Clinic.objects.filter(pk=clinic.pk).update(treatment_days="0123456")
    # Another patient: the chart's patient has an open PHQ-9 alert, which blocks check-in.
    other = make_patient(nurse, clinic, given_name="Mary", family_name="Somerville")
    session = day.make_session(prescriber, nurse, clinic, other)
    who = day.as_nurse(nurse, clinic)
    treatments.check_in(who, session.pk, day.READY)
    treatments.record_observation(who, session.pk, day.NORMAL)
    treatments.start_dose(who, session.pk, supply)
    observation = treatments.record_observation(
        who, session.pk, {**day.NORMAL, "systolic": 190, "diastolic": 112}
    )
    alert = session.alerts.get(observation=observation)
    return {"session_id": session.pk, "session_alert_id": alert.pk}


def ledger_objects(clinic, clinic_admin, nurse, patient):
    """A dispense and a count with one open discrepancy at the clinic."""
    from ketacare.inventory import actions as inventory
    from ketacare.inventory.actions import Counted
    from ketacare.treatments.actions import Supply
    from tests.inventory import conftest as stock

    admin = stock.as_admin(clinic_admin, clinic)
    registration = inventory.create_registration(admin, stock.DEA_NUMBER, clinic.name, "")
    safe = inventory.add_location(admin, registration.pk, "Main safe", "safe")
    product = inventory.add_product(
        admin,
        ndc="00000-0001-01",
        name="Ketamine 50 mg/mL",
        drug="racemic_ketamine",
        form="vial",
        mg_per_unit=50,
        unit="mL",
        units_per_package=10,
    )
    lot = stock.receive(stock.as_nurse(nurse, clinic), registration, product, safe, "100").lot
    entry = stock.dispense(stock.as_nurse(nurse, clinic), registration, lot, safe, patient)
    count = inventory.record_count(
        admin, registration.pk, kind="ad_hoc", lines=[Counted(lot.pk, safe.pk, "89")]
    )
    objects = {
        "entry_id": entry.pk,
        "discrepancy_id": count.lines.get().discrepancy.pk,
        "count_id": count.pk,
    }
    return objects, Supply(registration.pk, lot.pk, safe.pk, "10")


def appointment_object(clinic, staff, patient):
    """A follow-up tomorrow in the clinic's one chair (open every day, all day)."""
    from ketacare.scheduling import actions as scheduling

    admin = actor(staff["clinic_admin"], clinic, Role.CLINIC_ADMIN)
    scheduling.set_opening_hours(admin, {day: (time(0), time(23, 59)) for day in range(7)})
    chair = scheduling.add_chair(admin, "Chair 1", ["iv_pump"])
    start = datetime.combine(timezone.localdate() + timedelta(days=1), time(10), tzinfo=UTC)
    coordinator = actor(staff["coordinator"], clinic, Role.COORDINATOR)
    return scheduling.book(
        coordinator,
        patient_id=patient.pk,
        kind="follow_up",
        start=start,
        end=start + timedelta(hours=1),
        chair_id=chair.pk,
    )


def referral_alert(clinic):
    """A self-referral screened at crisis risk, with its open alert."""
    from ketacare.referrals import actions as referrals
    from ketacare.referrals.screener import judge

    referral = referrals.save_crisis_screen(
        referrals.public_actor(clinic, "127.0.0.1"), clinic, judge([1, 1, 1, 1, 0, 0, 0])
    )
    return referral.alerts.get()


@dataclass
class World:
    """A clinic where every URL has something to name: its staff (a user per role), the
    patient and the ids the URLs take (``url_for``)."""

    staff: dict[str, User]
    patient: Patient
    ids: dict[str, object]


def build_world() -> World:
    """One of each object a URL can name, all at the patient's clinic: the patient with an
    open PHQ-9 alert and a weekly PHQ-9, a signed plan, a ledger with a count discrepancy and
    a dosed IV session with an alert."""
    clinic = create_clinic(SYSTEM, "Riverside Ketamine Clinic")
    staff = {role: _staff(clinic, role) for role in ROLES}
    prescriber, nurse = staff["prescriber"], staff["nurse"]
    patient = make_patient(nurse, clinic)
    # An open safety alert: item 9 above 0.
    alert = record_staff_response(
        actor(nurse, clinic), patient, "phq9", [1] * 9, timezone.now()
    ).alerts.get()
    assignment = assign_instrument(
        actor(nurse, clinic), patient, "phq9", "weekly", timezone.localdate()
    )
    plan = signed_plan(prescriber, clinic, patient)
    ledger, supply = ledger_objects(clinic, staff["clinic_admin"], nurse, patient)
    appointment = appointment_object(clinic, staff, patient)
    ids = {
        **ledger,
        **session_objects(prescriber, nurse, clinic, supply),
        "pk": patient.pk,
        "alert_id": alert.pk,
        "assignment_id": assignment.pk,
        "instrument_id": "phq9",
        "evaluation_id": plan.evaluation_id,
        "plan_id": plan.pk,
        "step": "evaluated",
        "rule_id": "ketamine_baseline_blood_pressure_raised",
        "membership_id": nurse.memberships.get().pk,
        "appointment_id": appointment.pk,
        "staff_id": nurse.pk,
        "clinic_id": clinic.pk,  # the public referral form's address
        "referral_alert_id": (handoff := referral_alert(clinic)).pk,
        "referral_id": handoff.referral_id,
        # The treatment consent signed_plan recorded, and a portal consent document.
        "consent_id": patient.consents.get().pk,
        "kind": "treatment_ketamine",
    }
    return World(staff, patient, ids)


@pytest.fixture(scope="module")
def module_transaction(django_db_setup, django_db_blocker):
    """The module's world lives in one transaction, rolled back after the module's last test.
    Building it takes a fifth of a second and the matrix has some 200 cases: each case still
    runs in its own savepoint (``db``), so whatever a request writes (a session, a last
    login, an audit event) is gone before the next."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def world(module_transaction):
    return build_world()


@pytest.fixture(scope="module")
def other_staff(module_transaction):
    """A user of every role at another clinic, keyed by role name."""
    other_clinic = create_clinic(SYSTEM, "Harbor Mental Health")
    return {
        role: create_staff(
            SYSTEM, clinic=other_clinic, username=f"other-{role}", password=PASSWORD, role=role
        )
        for role in ROLES
    }


def url_for(name, route, objects):
    values = objects
    return reverse(name, kwargs={k: v for k, v in values.items() if f":{k}>" in route})


def is_login_redirect(response):
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("name", "route", "action"), PROTECTED)
def test_each_role_gets_what_the_table_says(name, route, action, world, db):
    url = url_for(name, route, world.ids)
    for role in ROLES:
        response = client_for(world.staff[role]).get(url)
        if allowed(role, action):
            assert response.status_code in (200, 302), (role, url, response.status_code)
            assert not is_login_redirect(response), (role, url)
        else:
            assert response.status_code == 403, (role, url, response.status_code)


@pytest.mark.parametrize(("name", "route", "action"), PROTECTED)
def test_anonymous_is_sent_to_login(client, name, route, action, world, db):
    response = client.get(url_for(name, route, world.ids))
    assert is_login_redirect(response)


@pytest.mark.parametrize(
    ("name", "route", "action"), [v for v in PROTECTED if any(k in v[1] for k in PATIENT_SCOPED)]
)
def test_another_clinics_staff_cannot_open_a_patient_by_id(
    name, route, action, world, other_staff, db
):
    # Every role of another clinic: those whose role allows the action get 404, not 403, so
    # an id reveals nothing; the others are refused by role before the lookup.
    url = url_for(name, route, world.ids)
    for role in ROLES:
        expected = 404 if allowed(role, action) else 403
        assert client_for(other_staff[role]).get(url).status_code == expected, (role, url)


def test_another_clinics_patient_is_not_listed_or_found(world, other_staff, db):
    patient = world.patient
    client = client_for(other_staff["nurse"])
    for params in ({}, {"q": patient.family_name}, {"q": patient.mrn}):
        response = client.get(reverse("patient-list"), params)
        assert list(response.context["page"]) == []
        assert reverse("patient-chart", args=[patient.pk]) not in response.content.decode()


def test_denied_post_changes_nothing(world, db):
    patient = world.patient
    # The world has a second patient (the IV session's): count before, not 1.
    patients = Patient.objects.count()
    client = client_for(world.staff["researcher"])
    response = client.post(reverse("patient-new"), {"given_name": "X", "family_name": "Y"})
    assert response.status_code == 403
    response = client.post(reverse("patient-edit", args=[patient.pk]), {"family_name": "Changed"})
    assert response.status_code == 403
    assert Patient.objects.count() == patients
    assert Patient.objects.get(pk=patient.pk).family_name == patient.family_name


def test_staff_without_clinic_membership_is_refused(django_user_model, world, db):
    loner = django_user_model.objects.create_user("loner", password="x" * 16)
    assert client_for(loner).get(reverse("patient-list")).status_code == 403


def test_another_clinics_staff_see_nothing_of_this_clinics_calendar(world, other_staff, db):
    """The week pages and the calendar feed: every role of another clinic gets its own
    (empty) week, "not found" for this clinic's staff member, and no way to this clinic's
    feed; the feed itself (a token, no sign-in) is "not found" for any token not made."""
    from ketacare.scheduling import actions as scheduling
    from ketacare.scheduling.models import Appointment

    clinic, nurse = world.patient.clinic, world.staff["nurse"]
    # The world's appointment, and another that afternoon with the nurse.
    booked = Appointment.objects.get(pk=world.ids["appointment_id"])
    start = booked.start + timedelta(hours=3)
    scheduling.book(
        actor(world.staff["coordinator"], clinic, Role.COORDINATOR),
        patient_id=world.patient.pk,
        kind="follow_up",
        start=start,
        end=start + timedelta(hours=1),
        chair_id=booked.chair_id,
        staff_id=nurse.pk,
    )
    tomorrow = timezone.localtime(start, clinic.zone).date()
    made = client_for(nurse).post(reverse("schedule-feed-page"), {"do": "make"})
    own_feed = made.context["url"].split("/schedule/feed/")[1]
    assert client_for(nurse).get(f"/schedule/feed/{own_feed}").status_code == 200
    week = {"week": tomorrow.isoformat()}
    for role in ROLES:
        client = client_for(other_staff[role])
        if not allowed(role, "scheduling.view"):
            assert client.get(reverse("schedule-week"), week).status_code == 403
            continue
        response = client.get(reverse("schedule-week"), week)
        assert response.status_code == 200 and response.context["rows"] == []
        assert world.patient.mrn not in response.content.decode()
        staff_week = reverse("schedule-staff-week", args=[nurse.pk])
        assert client.get(staff_week, week).status_code == 404
        theirs = client.post(reverse("schedule-feed-page"), {"do": "make"}).context["url"]
        feed = client.get("/schedule/feed/" + theirs.split("/schedule/feed/")[1])
        assert feed.status_code == 200 and b"BEGIN:VEVENT" not in feed.content
    for client in [client_for(other_staff["nurse"]), Client()]:
        assert client.get(reverse("schedule-feed", args=["A" * 43])).status_code == 404


def test_the_matrix_covers_the_api():
    assert {(name, action) for name, _, action in API} >= {
        ("api-v1:list_patients", "patient.view"),
        ("api-v1:read_patient", "patient.view"),
    }


@pytest.mark.parametrize(("name", "route", "action"), API)
def test_each_role_gets_what_the_table_says_through_the_api(
    client, name, route, action, world, other_staff, db
):
    url = url_for(name, route, world.ids)
    for role in ROLES:
        response = client_for(world.staff[role]).get(url)
        assert response.status_code == (200 if allowed(role, action) else 403), (role, url)
        theirs = client_for(other_staff[role]).get(url)
        if not allowed(role, action):
            assert theirs.status_code == 403, (role, url)
        elif any(k in route for k in PATIENT_SCOPED):
            assert theirs.status_code == 404, (role, url)
        else:
            assert world.patient.family_name not in theirs.content.decode(), (role, url)
    response = client.get(url)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"


def test_the_portals_actions_are_a_patients_and_no_roles():
    assert {action for _, _, action in PORTAL} == PATIENT_ACTIONS
    for action in PATIENT_ACTIONS:
        assert not any(allowed(role, action) for role in ROLES), action


def _to_portal_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/portal/")


@pytest.mark.parametrize(("name", "route", "action"), PORTAL)
def test_no_staff_member_and_no_stranger_is_a_patient_in_the_portal(
    client, name, route, action, world, db
):
    url = url_for(name, route, world.ids)
    for who in [client, *(client_for(world.staff[role]) for role in ROLES)]:
        for response in (who.get(url), who.post(url)):
            # A POST-only page answers a GET 405 before it asks who is there.
            assert _to_portal_sign_in(response) or response.status_code == 405, (url, response)


@pytest.mark.parametrize(("name", "route", "action"), PORTAL)
def test_another_clinics_patient_sees_nothing_of_this_clinic_in_the_portal(
    name, route, action, world, other_staff, db
):
    from tests.portal.conftest import signed_in_client

    other = other_staff["nurse"].memberships.get().clinic
    make_patient(
        other_staff["nurse"], other, given_name="Grace", family_name="Hopper", email="g@x.org"
    )
    portal = signed_in_client(other, "g@x.org")
    url = url_for(name, route, world.ids)
    for response in (portal.get(url), portal.post(url)):
        if "<int:appointment_id>" in route and response.status_code != 405:
            assert response.status_code == 404, url
        page = response.content.decode()
        # (MRNs are per clinic: Grace's may be the same digits.)
        assert world.patient.family_name not in page and world.patient.given_name not in page


def test_a_patient_signed_in_to_the_portal_reaches_no_staff_page(world, other_staff, db):
    from tests.portal.conftest import signed_in_client

    clinic = world.patient.clinic
    make_patient(world.staff["nurse"], clinic, given_name="Grace", email="grace@example.org")
    portal = signed_in_client(clinic, "grace@example.org")
    for name, route, _action in PROTECTED:
        assert is_login_redirect(portal.get(url_for(name, route, world.ids))), name
    for name, route, _action in API:
        assert portal.get(url_for(name, route, world.ids)).status_code == 401, name
