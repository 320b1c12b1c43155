"""Intranasal esketamine: REMS enrolment and transport home at check-in; devices one by one,
five minutes apart; two hours of monitoring; discharge after a blood pressure at about 40
minutes and once it is no longer rising; when the patient was ready to leave, kept as it
happened."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from ketacare.treatments import actions
from ketacare.treatments.actions import Checklist, SessionError
from ketacare.treatments.models import TreatmentSession
from tests.conftest import PASSWORD
from tests.planning.conftest import iv_request
from tests.treatments.conftest import (
    NORMAL,
    READY,
    as_nurse,
    consent,
    make_session,
    supply,
)


@pytest.fixture
def esketamine(prescriber, nurse, clinic, patient):
    request = iv_request(
        protocol_id="esketamine_trd", dose=Decimal("56"), start_date=timezone.localdate()
    )
    return make_session(prescriber, nurse, clinic, patient, request, drug="esketamine")


def test_devices_are_five_minutes_apart_and_monitoring_lasts_two_hours(
    esketamine, nurse, clinic, stock
):
    who = as_nurse(nurse, clinic)
    # Esketamine needs no escort arranged by protocol; the label asks for no driving instead.
    actions.check_in(who, esketamine.pk, READY)
    actions.record_observation(who, esketamine.pk, NORMAL)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        actions.start_dose(who, esketamine.pk, supply(stock, "esketamine", units="2"))
    with (
        time_machine.travel(start + timedelta(minutes=3), tick=False),
        pytest.raises(SessionError, match="Wait 2 min 0 s: devices are 5 minutes apart"),
    ):
        actions.give_device(who, esketamine.pk)
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        actions.give_device(who, esketamine.pk)
    session = TreatmentSession.objects.get(pk=esketamine.pk)
    assert session.state == TreatmentSession.State.MONITORING
    assert session.steps.filter(kind="device").count() == 2
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        actions.record_observation(who, esketamine.pk, {**NORMAL, "moaas": 5})
    with time_machine.travel(start + timedelta(minutes=90), tick=False):
        actions.record_observation(who, esketamine.pk, {**NORMAL, "systolic": 120, "moaas": 5})
    with (
        time_machine.travel(start + timedelta(minutes=100), tick=False),
        pytest.raises(SessionError, match="Observed 100 of at least 120 minutes"),
    ):
        actions.discharge(
            who,
            esketamine.pk,
            dissociation_resolved=True,
            responsible_adult_present=False,
            password=PASSWORD,
        )
    with time_machine.travel(start + timedelta(minutes=121), tick=False):
        done = actions.discharge(
            who,
            esketamine.pk,
            dissociation_resolved=True,
            responsible_adult_present=False,
            password=PASSWORD,
        )
    assert done.state == TreatmentSession.State.DISCHARGED
    assert done.note.count("Nasal device") == 2


def _dosed(esketamine, who, stock, start):
    actions.check_in(who, esketamine.pk, READY)
    actions.record_observation(who, esketamine.pk, NORMAL)
    with time_machine.travel(start, tick=False):
        actions.start_dose(who, esketamine.pk, supply(stock, "esketamine", units="2"))
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        actions.give_device(who, esketamine.pk)


def _observe(who, session, start, minute, systolic):
    with time_machine.travel(start + timedelta(minutes=minute), tick=False):
        actions.record_observation(
            who, session.pk, {**NORMAL, "systolic": systolic, "diastolic": 80, "moaas": 5}
        )


def _discharge(who, session, start, minute):
    with time_machine.travel(start + timedelta(minutes=minute), tick=False):
        return actions.discharge(
            who,
            session.pk,
            dissociation_resolved=True,
            responsible_adult_present=False,
            password=PASSWORD,
        )


def test_a_first_esketamine_session_needs_a_rems_enrolment(esketamine, nurse, clinic, patient):
    who = as_nurse(nurse, clinic)
    consent(who, patient, "rems_enrollment", decision="withdrawn")
    with pytest.raises(SessionError, match="not enrolled in the esketamine REMS"):
        actions.check_in(who, esketamine.pk, READY)
    assert TreatmentSession.objects.get(pk=esketamine.pk).state == "scheduled"
    consent(who, patient, "rems_enrollment")
    assert actions.check_in(who, esketamine.pk, READY).state == "checked_in"


def test_esketamine_check_in_asks_for_transport_home(esketamine, nurse, clinic):
    no_transport = Checklist(True, False, "not_applicable", True)
    with pytest.raises(SessionError, match="No transport home arranged: the patient must not"):
        actions.check_in(as_nurse(nurse, clinic), esketamine.pk, no_transport)


def test_discharge_needs_a_blood_pressure_at_about_40_minutes(esketamine, nurse, clinic, stock):
    who, start = as_nurse(nurse, clinic), timezone.now()
    _dosed(esketamine, who, stock, start)
    _observe(who, esketamine, start, 20, 130)
    _observe(who, esketamine, start, 51, 128)  # 51 min: outside 40 ± 10
    _observe(who, esketamine, start, 110, 124)
    with pytest.raises(SessionError, match="No blood pressure about 40 minutes after the dose"):
        _discharge(who, esketamine, start, 121)
    _observe(who, esketamine, start, 122, 122)
    with pytest.raises(SessionError, match="No blood pressure about 40"):
        _discharge(who, esketamine, start, 123)


def test_discharge_waits_until_blood_pressure_stops_rising(esketamine, nurse, clinic, stock):
    who, start = as_nurse(nurse, clinic), timezone.now()
    _dosed(esketamine, who, stock, start)
    _observe(who, esketamine, start, 40, 130)
    _observe(who, esketamine, start, 110, 131)  # one mmHg higher: still rising
    with pytest.raises(SessionError, match=r"still rising \(130/80 → 131/80\)"):
        _discharge(who, esketamine, start, 121)
    assert TreatmentSession.objects.get(pk=esketamine.pk).ready_at is None
    _observe(who, esketamine, start, 125, 131)  # the same: no longer rising
    done = _discharge(who, esketamine, start, 140)
    assert done.state == "discharged"
    # Ready from the reading that showed it had stopped rising, not from the discharge.
    assert done.ready_at == start + timedelta(minutes=125)


def test_ready_to_leave_is_the_end_of_observation_when_everything_else_held(
    esketamine, nurse, clinic, stock
):
    who, start = as_nurse(nurse, clinic), timezone.now()
    _dosed(esketamine, who, stock, start)
    _observe(who, esketamine, start, 40, 140)
    _observe(who, esketamine, start, 90, 126)
    done = _discharge(who, esketamine, start, 150)
    assert done.ready_at == start + timedelta(minutes=120)
    assert "every discharge criterion about the patient met" in done.note
