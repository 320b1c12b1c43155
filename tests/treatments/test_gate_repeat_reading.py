"""A gate stopped by a blood pressure reopens with a repeat reading only after the rest
interval; both readings stay on the flowsheet and in the note; above the severe tier only a
prescriber opens it, after a repeat reading — through the actions and through direct POSTs."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.permissions import Role
from ketacare.inventory.models import LedgerEntry
from ketacare.treatments import actions
from ketacare.treatments.actions import SessionError
from ketacare.treatments.models import Observation, TreatmentSession
from ketacare.treatments.note import session_note
from tests.conftest import PASSWORD, actor, client_for
from tests.treatments.conftest import HIGH_BP, NORMAL, READY, as_nurse, supply

SEVERE = {**NORMAL, "systolic": 186, "diastolic": 112}
REPEAT = {**NORMAL, "systolic": 130, "diastolic": 85}


def reading(who, session, values, moment):
    with time_machine.travel(moment, tick=False):
        return actions.record_observation(who, session.pk, values)


def post_reading(user, session, values, moment):
    url = reverse("session-observation", kwargs={"session_id": session.pk})
    with time_machine.travel(moment, tick=False):
        return client_for(user).post(url, values, follow=True)


@pytest.fixture
def checked_in(session, nurse, clinic):
    actions.check_in(as_nurse(nurse, clinic), session.pk, READY)
    return session


def test_a_repeat_reading_before_the_rest_interval_does_not_open_the_gate(
    checked_in, nurse, clinic, stock
):
    who, t0 = as_nurse(nurse, clinic), timezone.now()
    reading(who, checked_in, HIGH_BP, t0)
    second = reading(who, checked_in, REPEAT, t0 + timedelta(minutes=4, seconds=59))
    assert second.gate["counted"] is False
    with (
        time_machine.travel(t0 + timedelta(minutes=6), tick=False),
        pytest.raises(SessionError, match="pre-dose gate stops dosing"),
    ):
        actions.start_dose(who, checked_in.pk, supply(stock))
    assert not LedgerEntry.objects.filter(kind="dispense").exists()


def test_a_repeat_reading_after_rest_opens_the_gate_and_both_are_in_the_note(
    checked_in, nurse, prescriber, clinic, stock
):
    who, t0 = as_nurse(nurse, clinic), timezone.now()
    reading(who, checked_in, HIGH_BP, t0)
    reading(who, checked_in, REPEAT, t0 + timedelta(minutes=5))
    session = TreatmentSession.objects.get(pk=checked_in.pk)
    assert session.gate_open and session.gate_fired == []
    assert session.gate_stopped_at == t0 and session.gate_cleared_at == t0 + timedelta(minutes=5)
    with time_machine.travel(t0 + timedelta(minutes=6), tick=False):
        actions.start_dose(who, checked_in.pk, supply(stock))
    assert Observation.objects.filter(session=checked_in, phase="pre_dose").count() == 2
    with time_machine.travel(t0 + timedelta(minutes=46), tick=False):
        actions.infusion_step(who, checked_in.pk, "infusion_end")
    note = session_note(TreatmentSession.objects.get(pk=checked_in.pk))
    assert "systolic 152, diastolic 94" in note and "gate: stops dosing" in note
    assert "dispensed 20 mL (200 mg) from lot L-rac by" in note
    assert "systolic 130, diastolic 85" in note
    assert "gate: repeat reading after 5 min rest: passes" in note
    assert "pre-dose gate stopped dosing: Blood pressure above 140/90 mmHg before racemic" in note
    assert "ketamine_bp_above_140_90" not in note  # ids stay in the audit trail
    assert "reopened by a repeat reading after rest" in note


def test_the_board_shows_how_the_gate_was_cleared(checked_in, nurse, clinic):
    who, t0 = as_nurse(nurse, clinic), timezone.now()
    reading(who, checked_in, HIGH_BP, t0)
    page = client_for(nurse).get(reverse("chair-board")).content.decode()
    assert "gate stopped: repeat reading or prescriber" in page
    reading(who, checked_in, REPEAT, t0 + timedelta(minutes=5))
    page = client_for(nurse).get(reverse("chair-board")).content.decode()
    assert "cleared by repeat reading" in page


def test_readings_are_recorded_in_the_order_taken(checked_in, nurse, clinic):
    who, t0 = as_nurse(nurse, clinic), timezone.now()
    reading(who, checked_in, HIGH_BP, t0)
    with pytest.raises(SessionError, match="in the order taken"):
        actions.record_observation(who, checked_in.pk, REPEAT, taken_at=t0 - timedelta(minutes=1))


def test_a_severe_reading_needs_a_prescriber_after_a_repeat_reading(
    checked_in, nurse, prescriber, clinic, stock
):
    who, doctor, t0 = (
        as_nurse(nurse, clinic),
        actor(prescriber, clinic, Role.PRESCRIBER),
        (timezone.now()),
    )
    reading(who, checked_in, SEVERE, t0)
    with (
        time_machine.travel(t0 + timedelta(minutes=1), tick=False),
        pytest.raises(SessionError, match="take a repeat reading after at least 5 minutes"),
    ):
        actions.override_gate(doctor, checked_in.pk, "Usual for him.", PASSWORD)
    reading(who, checked_in, REPEAT, t0 + timedelta(minutes=10))
    session = TreatmentSession.objects.get(pk=checked_in.pk)
    assert not session.gate_open and session.gate_severe
    with (
        time_machine.travel(t0 + timedelta(minutes=11), tick=False),
        pytest.raises(SessionError, match="pre-dose gate stops dosing"),
    ):
        actions.start_dose(who, checked_in.pk, supply(stock))
    with time_machine.travel(t0 + timedelta(minutes=11), tick=False):
        actions.override_gate(doctor, checked_in.pk, "186/112 on arrival, 130/85 rested.", PASSWORD)
        dosed = actions.start_dose(who, checked_in.pk, supply(stock))
    assert dosed.state == "dosing"


def test_direct_posts_follow_the_same_gate(checked_in, nurse, prescriber, stock):
    t0 = timezone.now()
    post_reading(nurse, checked_in, HIGH_BP, t0)
    response = post_reading(nurse, checked_in, REPEAT, t0 + timedelta(minutes=3))
    page = response.content.decode()
    assert "The gate stops dosing" in page and "a repeat reading counts after 5 min rest" in page
    assert not TreatmentSession.objects.get(pk=checked_in.pk).gate_open
    response = post_reading(nurse, checked_in, REPEAT, t0 + timedelta(minutes=8))
    assert "The gate is open" in response.content.decode()
    assert TreatmentSession.objects.get(pk=checked_in.pk).gate_open


def test_a_direct_override_post_on_a_severe_reading_without_a_repeat_is_refused(
    checked_in, nurse, prescriber
):
    t0 = timezone.now()
    post_reading(nurse, checked_in, SEVERE, t0)
    url = reverse("session-gate-override", kwargs={"session_id": checked_in.pk})
    with time_machine.travel(t0 + timedelta(minutes=2), tick=False):
        response = client_for(prescriber).post(url, {"reason": "ok", "password": PASSWORD})
    assert "take a repeat reading" in response.content.decode()
    assert TreatmentSession.objects.get(pk=checked_in.pk).gate_override_by_id is None
