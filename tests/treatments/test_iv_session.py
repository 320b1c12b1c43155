"""A whole IV ketamine session through the actions: check-in, a gate that stops a high blood
pressure until a prescriber decides, the dose dispensed from the ledger, the infusion, an
alert and an adverse event, the witnessed waste, and a discharge that waits for its criteria."""

from datetime import timedelta

import pytest
import time_machine
from django.db import DatabaseError, transaction
from django.utils import timezone

from ketacare.accounts.permissions import Role
from ketacare.inventory import actions as inventory
from ketacare.inventory.actions import Signature
from ketacare.inventory.models import LedgerEntry
from ketacare.treatments import actions
from ketacare.treatments.actions import Checklist, SessionError
from ketacare.treatments.models import DoseStep, TreatmentSession
from tests.conftest import PASSWORD, actor
from tests.treatments.conftest import HIGH_BP, NORMAL, READY, as_nurse, supply

State = TreatmentSession.State


def test_check_in_lists_every_unmet_item(session, nurse, clinic):
    unready = Checklist(False, False, "maybe", False)
    with pytest.raises(SessionError) as refused:
        actions.check_in(as_nurse(nurse, clinic), session.pk, unready)
    message = str(refused.value)
    for part in ("Not fasted", "no responsible adult", "pregnancy test", "questionnaires"):
        assert part in message
    assert TreatmentSession.objects.get(pk=session.pk).state == State.SCHEDULED


def test_an_open_safety_alert_blocks_check_in(session, nurse, clinic, alert):
    with pytest.raises(SessionError, match=r"open safety alert .*: PHQ-9 item 9"):
        actions.check_in(as_nurse(nurse, clinic), session.pk, READY)


def test_the_check_in_refusal_names_the_alert_that_is_open(session, nurse, clinic, patient):
    from ketacare.measures import actions as measure_actions

    answers = [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]  # item 12 = 1
    measure_actions.record_staff_response(
        actor(nurse, clinic), patient, "qids_sr16", answers, timezone.now()
    )
    with pytest.raises(SessionError, match=r"QIDS-SR16 item 12"):
        actions.check_in(as_nurse(nurse, clinic), session.pk, READY)


def test_the_gate_stops_a_high_blood_pressure_until_a_prescriber_decides(
    session, nurse, prescriber, clinic, stock
):
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, HIGH_BP)
    with pytest.raises(SessionError, match=r"pre-dose gate stops dosing\. Blood pressure above"):
        actions.start_dose(who, session.pk, supply(stock))
    assert not LedgerEntry.objects.filter(kind="dispense").exists()
    with pytest.raises(SessionError, match="Only a prescriber"):
        actions.override_gate(who, session.pk, "fine", PASSWORD)
    doctor = actor(prescriber, clinic, Role.PRESCRIBER)
    with pytest.raises(SessionError, match="benefit/risk reason"):
        actions.override_gate(doctor, session.pk, " ", PASSWORD)
    actions.override_gate(doctor, session.pk, "Anxious at arrival; 152/94 is her usual.", PASSWORD)
    dosed = actions.start_dose(who, session.pk, supply(stock))
    assert dosed.state == State.DOSING
    assert dosed.dispense.quantity_mg == 200  # one 20 mL vial of 10 mg/mL
    assert dosed.dose_mg == 30  # the plan's dose (0.5 mg/kg × 61.5 kg from 10 mg/mL)


def test_new_pre_dose_vitals_close_an_overridden_gate(session, nurse, prescriber, clinic, stock):
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, HIGH_BP)
    actions.override_gate(actor(prescriber, clinic, Role.PRESCRIBER), session.pk, "ok", PASSWORD)
    actions.record_observation(who, session.pk, {**HIGH_BP, "systolic": 170})
    with pytest.raises(SessionError, match="pre-dose gate stops dosing"):
        actions.start_dose(who, session.pk, supply(stock))


def test_a_dose_different_from_the_plan_needs_a_prescriber_and_a_reason(
    session, nurse, prescriber, clinic, stock
):
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, NORMAL)
    with pytest.raises(SessionError, match="Only a prescriber may change the dose"):
        actions.start_dose(who, session.pk, supply(stock), dose_mg="40")
    with pytest.raises(SessionError, match="why the dose differs"):
        actions.start_dose(
            actor(prescriber, clinic, Role.PRESCRIBER), session.pk, supply(stock), dose_mg="40"
        )
    assert not LedgerEntry.objects.filter(kind="dispense").exists()


def test_implausible_vitals_are_refused_and_nothing_is_saved(session, nurse, clinic):
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    for values in (
        {**NORMAL, "systolic": 70, "diastolic": 90},
        {**NORMAL, "heart_rate": 0},
        {**NORMAL, "heart_rate": 300},
        {**NORMAL, "spo2": 101},
    ):
        with pytest.raises(SessionError, match="Implausible values"):
            actions.record_observation(who, session.pk, values)
    assert not TreatmentSession.objects.get(pk=session.pk).observations.exists()


def test_the_whole_iv_session(session, nurse, prescriber, clinic, stock):
    who = as_nurse(nurse, clinic)
    doctor = actor(prescriber, clinic, Role.PRESCRIBER)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, NORMAL)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        actions.start_dose(who, session.pk, supply(stock))
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        observation = actions.record_observation(
            who, session.pk, {**NORMAL, "systolic": 186, "diastolic": 104, "moaas": 4, "cadss": 9}
        )
        actions.record_adverse_event(who, session.pk, "nausea", "mild", intervention="ondansetron")
    (alert,) = TreatmentSession.objects.get(pk=session.pk).alerts.all()
    assert alert.check_id == "severe_hypertension" and alert.observation == observation
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        actions.infusion_step(who, session.pk, DoseStep.Kind.INFUSION_END)
    with time_machine.travel(start + timedelta(minutes=60), tick=False):
        actions.record_observation(who, session.pk, {**NORMAL, "moaas": 5, "cadss": 0})
        with pytest.raises(SessionError) as refused:
            actions.discharge(
                who,
                session.pk,
                dissociation_resolved=True,
                responsible_adult_present=True,
                password=PASSWORD,
            )
        message = str(refused.value)
        assert "Observed 60 of at least 70 minutes" in message
        assert "1 alert(s) wait" in message
        assert "170.00 mg left from the dispense is not yet wasted" in message
    actions.acknowledge_alert(doctor, alert.pk, "Labetalol 10 mg IV; BP 150/90 at 30 min.")
    registration = stock[0]
    dispense = TreatmentSession.objects.get(pk=session.pk).dispense
    inventory.waste(
        who,
        registration.pk,
        dispense_id=dispense.pk,
        units="17",
        reason="Remainder of vial",
        witness=Signature(prescriber.get_username(), PASSWORD),
    )
    with time_machine.travel(start + timedelta(minutes=75), tick=False):
        with pytest.raises(SessionError, match="signature was not accepted"):
            actions.discharge(
                who,
                session.pk,
                dissociation_resolved=True,
                responsible_adult_present=True,
                password="nope",
            )
        done = actions.discharge(
            who,
            session.pk,
            dissociation_resolved=True,
            responsible_adult_present=True,
            password=PASSWORD,
        )
    assert done.state == State.DISCHARGED
    assert "Dose 30.0 mg" in done.note and "adverse event: Nausea (mild)" in done.note
    assert "Labetalol" in done.note
    with (
        pytest.raises(DatabaseError, match="discharged or transferred session cannot be changed"),
        transaction.atomic(),
    ):
        TreatmentSession.objects.filter(pk=session.pk).update(note="rewritten")
    with pytest.raises(SessionError, match="not in monitoring"):
        actions.discharge(
            who,
            session.pk,
            dissociation_resolved=True,
            responsible_adult_present=True,
            password=PASSWORD,
        )


def test_a_session_never_moves_backwards(session, nurse, clinic):
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    with pytest.raises(SessionError, match="needs a session that is scheduled"):
        actions.check_in(who, session.pk, READY)


def test_two_nurses_recording_at_once_keep_both_observations(session, nurse, clinic, staff):
    from ketacare.accounts.actions import create_staff
    from ketacare.actor import SYSTEM

    other = create_staff(SYSTEM, clinic=clinic, username="n2", password=PASSWORD, role="nurse")
    actions.check_in(as_nurse(nurse, clinic), session.pk, READY)
    actions.record_observation(as_nurse(nurse, clinic), session.pk, NORMAL)
    actions.record_observation(as_nurse(other, clinic), session.pk, {**NORMAL, "heart_rate": 80})
    assert TreatmentSession.objects.get(pk=session.pk).observations.count() == 2


def test_a_failed_dispense_leaves_no_administration(session, nurse, clinic, stock):
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, NORMAL)
    with pytest.raises(SessionError, match="Dispense refused: Insufficient stock"):
        actions.start_dose(who, session.pk, supply(stock, units="500"))
    after = TreatmentSession.objects.get(pk=session.pk)
    assert after.state == State.CHECKED_IN and after.dispense is None
    assert not after.steps.exists()


def dosed(session, nurse, clinic, stock):
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, NORMAL)
    actions.start_dose(who, session.pk, supply(stock))
    return who


def test_a_rate_change_while_paused_keeps_the_pump_paused(session, nurse, clinic, stock):
    who = dosed(session, nurse, clinic, stock)
    actions.infusion_step(who, session.pk, DoseStep.Kind.PAUSE)
    actions.infusion_step(who, session.pk, DoseStep.Kind.RATE_CHANGE, "120")
    with pytest.raises(SessionError, match="already paused"):
        actions.infusion_step(who, session.pk, DoseStep.Kind.PAUSE)
    actions.infusion_step(who, session.pk, DoseStep.Kind.RESUME)


def test_observation_counts_from_the_real_end_of_a_long_infusion(
    session, nurse, prescriber, clinic, stock
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        who = dosed(session, nurse, clinic, stock)
    with time_machine.travel(start + timedelta(minutes=65), tick=False):
        actions.infusion_step(who, session.pk, DoseStep.Kind.INFUSION_END)
    with time_machine.travel(start + timedelta(minutes=71), tick=False):
        actions.record_observation(who, session.pk, {**NORMAL, "moaas": 5})
        blockers = actions.discharge_blockers(
            TreatmentSession.objects.get(pk=session.pk), True, True, timezone.now()
        )
    assert "observed 6 of at least 30 minutes since the infusion ended" in blockers


def test_a_dose_that_is_not_a_number_is_refused(session, nurse, prescriber, clinic, stock):
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, NORMAL)
    doctor = actor(prescriber, clinic, Role.PRESCRIBER)
    for bad in ("abc", "-5", "NaN"):
        with pytest.raises(SessionError, match="dose must be"):
            actions.start_dose(doctor, session.pk, supply(stock), dose_mg=bad, change_reason="x")


def test_a_session_not_dosed_can_be_cancelled_with_a_reason(session, nurse, clinic):
    who = as_nurse(nurse, clinic)
    with pytest.raises(SessionError, match="why the session is cancelled"):
        actions.cancel_session(who, session.pk, " ")
    cancelled = actions.cancel_session(who, session.pk, "Patient unwell (fever); rebook.")
    assert cancelled.state == State.CANCELLED
    with pytest.raises(SessionError, match="needs a session that is scheduled"):
        actions.check_in(who, session.pk, READY)


def test_a_session_on_the_board_cannot_be_rescheduled_in_the_plan(session, coordinator, clinic):
    from ketacare.planning import actions as planning
    from ketacare.planning.actions import PlanningError

    with pytest.raises(PlanningError, match="already on the chair board"):
        planning.reschedule_session(
            actor(coordinator, clinic, Role.COORDINATOR),
            session.plan_id,
            1,
            timezone.localdate() + timedelta(days=1),
        )


def test_check_in_is_on_the_session_s_day(session, nurse, clinic):
    with (
        time_machine.travel(timezone.now() + timedelta(days=1)),
        pytest.raises(SessionError, match="not today"),
    ):
        actions.check_in(as_nurse(nurse, clinic), session.pk, READY)


def test_check_in_asks_the_same_consent_question_as_signing(session, nurse, clinic, patient):
    """A withdrawal after the plan was signed stops check-in, and the page links to the form."""
    from tests.treatments.conftest import consent

    consent(as_nurse(nurse, clinic), patient, "treatment_ketamine", decision="withdrawn")
    with pytest.raises(SessionError, match="No current consent: Consent to ketamine") as refused:
        actions.check_in(as_nurse(nurse, clinic), session.pk, READY)
    assert refused.value.fixes == ("consent",)
