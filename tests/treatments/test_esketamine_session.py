"""Intranasal esketamine: devices one by one, five minutes apart; two hours of monitoring."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from ketacare.treatments import actions
from ketacare.treatments.actions import SessionError
from ketacare.treatments.models import TreatmentSession
from tests.conftest import PASSWORD
from tests.planning.conftest import iv_request
from tests.treatments.conftest import NORMAL, READY, as_nurse, make_session, supply


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
    with (
        time_machine.travel(start + timedelta(minutes=100), tick=False),
        pytest.raises(SessionError, match="observed 100 of at least 120 minutes"),
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
