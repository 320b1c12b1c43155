"""The chair board: today's sessions by chair for those who run or schedule the day, refreshed
by htmx; planned sessions put on the board from it; a bounded number of queries."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketacare.clinical.protocols.library import get_protocol
from ketacare.inventory import actions as inventory
from ketacare.inventory.actions import Signature
from ketacare.planning import actions as planning
from ketacare.treatments import actions
from ketacare.treatments.models import DoseStep, TreatmentSession
from tests.conftest import PASSWORD, client_for, make_patient
from tests.planning.conftest import as_prescriber, iv_request, signed_evaluation
from tests.treatments.conftest import NORMAL, READY, as_nurse, consent, make_session, supply

BOARD = reverse("chair-board")


def board_of(day):
    # Schedules skip weekends, so a plan starting today may have its first session later.
    return f"{BOARD}?date={day.isoformat()}"


def today_request():
    return iv_request(vial_mg_per_ml=Decimal("10"), start_date=timezone.localdate())


@pytest.fixture
def today(prescriber, nurse, clinic, patient):
    """An IV session on today's board, scheduled."""
    return make_session(prescriber, nurse, clinic, patient, today_request())


def signed_today_plan(prescriber, nurse, clinic, patient):
    """A signed plan whose first session is today, not yet on the board."""
    who = as_prescriber(prescriber, clinic)
    evaluation = signed_evaluation(prescriber, clinic, patient)
    consent(as_nurse(nurse, clinic), patient, "treatment_ketamine")
    return planning.sign_plan(
        who, planning.draft_plan(who, evaluation.pk, today_request()).pk, PASSWORD
    )


def dose(session, nurse, clinic, stock):
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, NORMAL)
    return actions.start_dose(who, session.pk, supply(stock))


@pytest.mark.parametrize("role", ["prescriber", "nurse", "coordinator"])
def test_the_board_shows_the_days_sessions(role, staff, today):
    response = client_for(staff[role]).get(board_of(today.date))
    assert response.status_code == 200
    text = response.text
    assert today.patient.mrn in text and "Lovelace, Ada" in text
    assert "Chair 3" in text and get_protocol("iv_ketamine").name in text
    assert reverse("session-detail", kwargs={"session_id": today.pk}) in text
    assert 'hx-trigger="every 10s"' in text
    assert "Chair board" in text  # the navigation link
    # The same day in the appointment book, for those who may read it.
    assert f"{reverse('schedule-day')}?day={today.date.isoformat()}" in text


def test_the_board_is_refused_to_researchers(staff, today):
    assert client_for(staff["researcher"]).get(board_of(today.date)).status_code == 403


def test_a_clinic_admin_reads_the_board(staff, today):
    assert client_for(staff["clinic_admin"]).get(board_of(today.date)).status_code == 200


def test_another_clinics_board_is_empty(outsider, today):
    response = client_for(outsider).get(board_of(today.date))
    assert response.status_code == 200
    assert today.patient.mrn not in response.text


def test_htmx_polling_gets_the_table_alone(nurse, today):
    response = client_for(nurse).get(board_of(today.date), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="chair-board"' in response.text
    assert today.patient.mrn in response.text
    assert "HX-Request" in response["Vary"]


def test_the_board_shows_today_unless_another_day_is_asked_for(nurse, today):
    day = today.date
    assert today.patient.mrn in client_for(nurse).get(board_of(day)).text
    assert today.patient.mrn not in client_for(nurse).get(board_of(day - timedelta(days=1))).text
    with time_machine.travel(timezone.make_aware(datetime.combine(day, time(9)))):
        client = client_for(nurse)
        assert today.patient.mrn in client.get(BOARD).text
        assert today.patient.mrn in client.get(BOARD, {"date": "not-a-date"}).text


def test_a_planned_session_is_put_on_the_board(prescriber, nurse, coordinator, clinic, patient):
    plan = signed_today_plan(prescriber, nurse, clinic, patient)
    first = plan.sessions.get(number=1)
    page = client_for(coordinator).get(board_of(first.date))
    assert page.context["waiting"][0] == first
    assert reverse("session-open") not in page.text  # a coordinator only sees the list
    assert (
        client_for(coordinator)
        .post(reverse("session-open"), {"planned": first.pk, "chair": "Chair 1"})
        .status_code
        == 403
    )
    assert not TreatmentSession.objects.exists()

    response = client_for(nurse).post(
        reverse("session-open"),
        {"planned": first.pk, "chair": "Chair 1", "date": first.date.isoformat()},
        follow=True,
    )
    opened = TreatmentSession.objects.get()
    assert opened.planned == first and opened.chair == "Chair 1"
    assert "is on the board in Chair 1" in response.text
    assert list(response.context["waiting"]) == []
    # Twice is refused, with the reason, and changes nothing.
    response = client_for(nurse).post(
        reverse("session-open"), {"planned": first.pk, "chair": "Chair 2"}, follow=True
    )
    assert "already on the board" in response.text
    assert TreatmentSession.objects.get().chair == "Chair 1"


def test_an_unsigned_or_foreign_planned_session_cannot_be_opened(
    prescriber, nurse, clinic, patient, outsider
):
    plan = signed_today_plan(prescriber, nurse, clinic, patient)
    first = plan.sessions.get(number=1)
    response = client_for(outsider).post(
        reverse("session-open"), {"planned": first.pk, "chair": "Chair 1"}, follow=True
    )
    assert "only under a signed treatment plan" in response.text
    response = client_for(nurse).post(
        reverse("session-open"), {"planned": first.pk, "chair": " "}, follow=True
    )
    assert "Not saved" in response.text
    assert not TreatmentSession.objects.exists()
    assert client_for(nurse).get(reverse("session-open")).status_code == 302


def test_overdue_vital_signs_stand_out(nurse, clinic, stock, today):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        dose(today, nurse, clinic, stock)
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        (row,) = client_for(nurse).get(board_of(today.date)).context["rows"]
        assert row.minutes == 5 and not row.due.overdue
        assert row.due.at == start + timedelta(minutes=10)
    with time_machine.travel(start + timedelta(minutes=12), tick=False):
        response = client_for(nurse).get(board_of(today.date))
        (row,) = response.context["rows"]
        assert row.due.overdue and "vitals-overdue" in response.text
        actions.record_observation(as_nurse(nurse, clinic), today.pk, NORMAL)
        (row,) = client_for(nurse).get(board_of(today.date)).context["rows"]
        assert row.due.at == start + timedelta(minutes=20) and not row.due.overdue


def test_ready_for_discharge_when_only_the_nurses_attestation_is_left(
    nurse, prescriber, clinic, stock, today
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        dosed = dose(today, nurse, clinic, stock)
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        actions.infusion_step(as_nurse(nurse, clinic), today.pk, DoseStep.Kind.INFUSION_END)
        actions.record_observation(as_nurse(nurse, clinic), today.pk, {**NORMAL, "moaas": 5})
    inventory.waste(
        as_nurse(nurse, clinic),
        stock[0].pk,
        dispense_id=dosed.dispense_id,
        units="17",
        reason="Remainder of vial",
        witness=Signature(prescriber.get_username(), PASSWORD),
    )
    with time_machine.travel(start + timedelta(minutes=60), tick=False):
        response = client_for(nurse).get(board_of(today.date))
        (row,) = response.context["rows"]
        assert not row.ready and "Ready for discharge" not in response.text  # 60 of 70 min
    with time_machine.travel(start + timedelta(minutes=71), tick=False):
        response = client_for(nurse).get(board_of(today.date))
        (row,) = response.context["rows"]
        assert row.ready and "Ready for discharge" in response.text


def test_open_alerts_are_counted(nurse, clinic, stock, today):
    dose(today, nurse, clinic, stock)
    actions.record_observation(
        as_nurse(nurse, clinic), today.pk, {**NORMAL, "systolic": 186, "diastolic": 104}
    )
    (row,) = client_for(nurse).get(board_of(today.date)).context["rows"]
    assert row.open_alerts == 1


def sessions_in_every_state(prescriber, nurse, clinic, stock, states):
    """One session on today's board per entry of ``states``, each its own patient."""
    who = as_nurse(nurse, clinic)
    for number, state in enumerate(states):
        # Each its own person (the same name and birth date would be a likely duplicate).
        patient = make_patient(nurse, clinic, given_name=f"Patient{state}{number}")
        session = make_session(prescriber, nurse, clinic, patient, today_request())
        if state == "scheduled":
            continue
        actions.check_in(who, session.pk, READY)
        actions.record_observation(who, session.pk, NORMAL)
        if state == "checked_in":
            continue
        actions.start_dose(who, session.pk, supply(stock))
        actions.record_observation(who, session.pk, {**NORMAL, "systolic": 186, "diastolic": 104})
        if state == "monitoring":
            actions.infusion_step(who, session.pk, DoseStep.Kind.INFUSION_END)
    return session.date


def board_queries(client, day):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(board_of(day))
    assert response.status_code == 200
    return len(queries), len(response.context["rows"])


def test_the_board_does_not_query_per_session(prescriber, nurse, clinic, stock):
    """Sessions in every state up to monitoring (within its minimum time: past it, each such
    session costs the two queries of ``discharge_blockers``)."""
    client = client_for(nurse)
    client.get(BOARD)  # the session's first-request writes
    day = sessions_in_every_state(prescriber, nurse, clinic, stock, ["dosing", "monitoring"])
    two, rows = board_queries(client, day)
    assert rows == 2
    sessions_in_every_state(
        prescriber, nurse, clinic, stock, ["scheduled", "checked_in", "dosing", "monitoring"]
    )
    six, rows = board_queries(client, day)
    assert rows == 6
    assert six == two
