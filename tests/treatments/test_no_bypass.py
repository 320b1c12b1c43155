"""No request goes around the hard stops: posting straight to a step's URL, without the page
that would not have offered it, is refused by the action with nothing written — no dose past
a closed gate, no override but a prescriber's, no discharge before its criteria, nothing of
another clinic's."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.actions import create_staff
from ketacare.actor import SYSTEM
from ketacare.inventory import actions as inventory
from ketacare.inventory.actions import Signature
from ketacare.inventory.models import LedgerEntry
from ketacare.treatments import actions
from ketacare.treatments.models import DoseStep, Observation, TreatmentSession
from tests.conftest import PASSWORD, client_for
from tests.treatments.conftest import HIGH_BP, NORMAL, READY, as_nurse, supply

State = TreatmentSession.State
STEP_URLS = [
    "session-check-in",
    "session-observation",
    "session-gate-override",
    "session-dose",
    "session-device",
    "session-pump",
    "session-adverse-event",
    "session-discharge",
    "session-transfer",
]
DISCHARGE = {"dissociation_resolved": "on", "responsible_adult_present": "on", "password": PASSWORD}


def url(name, session):
    return reverse(name, kwargs={"session_id": session.pk})


def post(user, name, session, data=None):
    return client_for(user).post(url(name, session), data or {})


def reload(session):
    return TreatmentSession.objects.get(pk=session.pk)


def dose_form(stock, **extra):
    _, safe, lots = stock
    return {"supply": f"{lots['racemic_ketamine'].pk}:{safe.pk}", "units": "20", **extra}


def dispensed():
    return LedgerEntry.objects.filter(kind=LedgerEntry.Kind.DISPENSE).count()


def messages_of(response):
    return " ".join(str(m) for m in response.context["messages"])


@pytest.fixture
def stopped(session, nurse, clinic):
    """Checked in, with pre-dose vitals the gate stops."""
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, HIGH_BP)
    return session


@pytest.fixture
def start():
    return timezone.now()


@pytest.fixture
def monitoring(session, nurse, clinic, stock, start):
    """Infusion given and ended at 40 minutes; a normal observation afterwards."""
    who = as_nurse(nurse, clinic)
    with time_machine.travel(start, tick=False):
        actions.check_in(who, session.pk, READY)
        actions.record_observation(who, session.pk, NORMAL)
        actions.start_dose(who, session.pk, supply(stock))
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        actions.infusion_step(who, session.pk, DoseStep.Kind.INFUSION_END)
        actions.record_observation(who, session.pk, {**NORMAL, "moaas": 5})
    return session


def waste_remainder(session, nurse, prescriber, clinic, stock):
    inventory.waste(
        as_nurse(nurse, clinic),
        stock[0].pk,
        dispense_id=reload(session).dispense_id,
        units="17",
        reason="Remainder of vial",
        witness=Signature(prescriber.get_username(), PASSWORD),
    )


# --- the pre-dose gate ------------------------------------------------------------------------


def test_a_dose_posted_past_a_closed_gate_is_refused(stopped, nurse, prescriber, stock):
    for who in (nurse, prescriber):
        response = post(who, "session-dose", stopped, dose_form(stock))
        assert response.status_code == 200
        assert "pre-dose gate stops dosing" in messages_of(response)
    assert dispensed() == 0
    after = reload(stopped)
    assert after.state == State.CHECKED_IN and after.dispense is None
    assert not after.steps.exists()


def test_a_dose_before_any_pre_dose_vitals_is_refused(session, nurse, clinic, stock):
    actions.check_in(as_nurse(nurse, clinic), session.pk, READY)
    response = post(nurse, "session-dose", session, dose_form(stock))
    assert "Record the pre-dose vital signs first" in messages_of(response)
    assert dispensed() == 0 and reload(session).state == State.CHECKED_IN


def test_a_dose_on_a_scheduled_session_is_refused(session, nurse, stock):
    response = post(nurse, "session-dose", session, dose_form(stock))
    assert "needs a session that is checked in" in messages_of(response)
    assert dispensed() == 0 and reload(session).state == State.SCHEDULED


@pytest.mark.parametrize("role", ["nurse", "coordinator", "clinic_admin", "researcher"])
def test_only_a_prescriber_may_post_the_gate_override(role, staff, stopped):
    response = post(
        staff[role], "session-gate-override", stopped, {"reason": "fine", "password": PASSWORD}
    )
    assert response.status_code == 403
    after = reload(stopped)
    assert after.gate_override_by is None and not after.gate_open


def test_an_override_needs_the_prescribers_own_password_and_a_reason(stopped, prescriber):
    post(prescriber, "session-gate-override", stopped, {"reason": "fine", "password": "nope"})
    post(prescriber, "session-gate-override", stopped, {"reason": " ", "password": PASSWORD})
    assert reload(stopped).gate_override_by is None


def test_new_vitals_after_an_override_close_the_gate_again(stopped, nurse, prescriber, stock):
    post(prescriber, "session-gate-override", stopped, {"reason": "usual", "password": PASSWORD})
    assert reload(stopped).gate_open
    post(nurse, "session-observation", stopped, {**HIGH_BP, "systolic": 170})
    response = post(nurse, "session-dose", stopped, dose_form(stock))
    assert "pre-dose gate stops dosing" in messages_of(response)
    assert dispensed() == 0


def test_a_nurse_cannot_post_a_changed_dose(session, nurse, clinic, stock):
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, NORMAL)
    response = post(
        nurse, "session-dose", session, dose_form(stock, dose_mg="40", change_reason="more")
    )
    assert "Only a prescriber may change the dose" in messages_of(response)
    assert dispensed() == 0 and reload(session).state == State.CHECKED_IN


def test_a_lot_of_another_clinic_or_drug_is_not_a_choice(session, nurse, clinic, stock):
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, NORMAL)
    _, safe, lots = stock
    response = post(
        nurse, "session-dose", session, {"supply": f"{lots['esketamine'].pk}:{safe.pk}", "units": 2}
    )
    assert "Select a valid choice" in messages_of(response)
    assert dispensed() == 0


@pytest.mark.parametrize("role", ["coordinator", "clinic_admin", "researcher"])
def test_who_may_not_run_sessions_cannot_post_a_step(role, staff, session, stock):
    for name in STEP_URLS:
        response = post(staff[role], name, session, {**NORMAL, **READY.__dict__})
        assert response.status_code == 403, name
    assert reload(session).state == State.SCHEDULED
    assert not Observation.objects.exists()


# --- discharge --------------------------------------------------------------------------------


def test_discharge_before_the_minimum_time_is_refused(
    monitoring, nurse, prescriber, clinic, stock, start
):
    waste_remainder(monitoring, nurse, prescriber, clinic, stock)
    with time_machine.travel(start + timedelta(minutes=60), tick=False):
        response = post(nurse, "session-discharge", monitoring, DISCHARGE)
    assert "Observed 60 of at least 70 minutes" in messages_of(response)
    after = reload(monitoring)
    assert after.state == State.MONITORING and after.note == "" and after.discharged_at is None


def test_discharge_with_an_open_alert_is_refused(
    monitoring, nurse, prescriber, clinic, stock, start
):
    waste_remainder(monitoring, nurse, prescriber, clinic, stock)
    with time_machine.travel(start + timedelta(minutes=50), tick=False):
        post(nurse, "session-observation", monitoring, {**NORMAL, "systolic": 186})
        post(nurse, "session-observation", monitoring, {**NORMAL, "moaas": 5})
    with time_machine.travel(start + timedelta(minutes=80), tick=False):
        response = post(nurse, "session-discharge", monitoring, DISCHARGE)
    assert "1 alert(s) wait" in messages_of(response)
    assert reload(monitoring).state == State.MONITORING


def test_discharge_with_an_unwasted_remainder_is_refused(monitoring, nurse, start):
    with time_machine.travel(start + timedelta(minutes=80), tick=False):
        response = post(nurse, "session-discharge", monitoring, DISCHARGE)
    assert "170.00 mg left from the dispense is not yet wasted" in messages_of(response)
    assert reload(monitoring).state == State.MONITORING


def test_discharge_needs_the_attestations_and_the_nurses_password(
    monitoring, nurse, prescriber, clinic, stock, start
):
    waste_remainder(monitoring, nurse, prescriber, clinic, stock)
    with time_machine.travel(start + timedelta(minutes=80), tick=False):
        response = post(nurse, "session-discharge", monitoring, {"password": PASSWORD})
        message = messages_of(response)
        assert "Dissociation not recorded as resolved" in message
        assert "no responsible adult" in message
        response = post(nurse, "session-discharge", monitoring, {**DISCHARGE, "password": "x"})
        assert "The signature was not accepted. Nothing was recorded." in messages_of(response)
        assert reload(monitoring).state == State.MONITORING
        assert post(nurse, "session-discharge", monitoring, DISCHARGE).status_code == 302
    assert reload(monitoring).state == State.DISCHARGED


def test_discharge_of_a_session_not_in_monitoring_is_refused(session, nurse):
    response = post(nurse, "session-discharge", session, DISCHARGE)
    assert "not in monitoring" in messages_of(response)
    assert reload(session).state == State.SCHEDULED


def test_only_a_prescriber_may_acknowledge_an_alert(monitoring, nurse, prescriber, start):
    with time_machine.travel(start + timedelta(minutes=50), tick=False):
        post(nurse, "session-observation", monitoring, {**NORMAL, "systolic": 186})
    (alert,) = reload(monitoring).alerts.all()
    ack = reverse("session-alert-acknowledge", kwargs={"session_alert_id": alert.pk})
    assert client_for(nurse).post(ack, {"note": "seen"}).status_code == 403
    response = client_for(prescriber).post(ack, {"note": " "})
    assert "Not saved" in messages_of(response)
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_devices_cannot_be_posted_for_an_infusion(session, nurse, clinic, stock):
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, NORMAL)
    actions.start_dose(who, session.pk, supply(stock))
    response = post(nurse, "session-device", session)
    assert "Devices are for intranasal esketamine" in messages_of(response)
    assert reload(session).steps.count() == 1


# --- another clinic and plain GETs ------------------------------------------------------------


def test_another_clinics_session_and_alert_are_not_found(
    monitoring, nurse, other_clinic, outsider, start
):
    with time_machine.travel(start + timedelta(minutes=50), tick=False):
        post(nurse, "session-observation", monitoring, {**NORMAL, "systolic": 186})
    (alert,) = reload(monitoring).alerts.all()
    other_prescriber = create_staff(
        SYSTEM, clinic=other_clinic, username="elsewhere", password=PASSWORD, role="prescriber"
    )
    for name in ["session-detail", *STEP_URLS]:
        # The other clinic's nurse may not override at all: refused by role before any lookup.
        others = (
            [other_prescriber] if name == "session-gate-override" else [other_prescriber, outsider]
        )
        for who in others:
            assert client_for(who).post(url(name, monitoring), DISCHARGE).status_code == 404
            assert client_for(who).get(url(name, monitoring)).status_code == 404
    ack = reverse("session-alert-acknowledge", kwargs={"session_alert_id": alert.pk})
    assert client_for(other_prescriber).post(ack, {"note": "seen"}).status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    assert reload(monitoring).state == State.MONITORING
    assert reload(monitoring).observations.count() == 3


def test_a_get_on_a_step_goes_back_to_the_session_page(monitoring, nurse, prescriber, start):
    with time_machine.travel(start + timedelta(minutes=50), tick=False):
        post(nurse, "session-observation", monitoring, {**NORMAL, "systolic": 186})
    (alert,) = reload(monitoring).alerts.all()
    page = url("session-detail", monitoring)
    for name in STEP_URLS:
        response = client_for(prescriber).get(url(name, monitoring))
        assert response.status_code == 302 and response["Location"] == page, name
    ack = reverse("session-alert-acknowledge", kwargs={"session_alert_id": alert.pk})
    assert client_for(prescriber).get(ack)["Location"] == page
    assert reload(monitoring).state == State.MONITORING
