"""The session page walks an IV session through every step with plain HTTP POSTs, as the
nurse and the prescriber would with the browser; esketamine devices wait their interval."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from ketacare.clinical.datafiles import load
from ketacare.inventory import actions as inventory
from ketacare.inventory.actions import Signature
from ketacare.inventory.models import LedgerEntry
from ketacare.treatments.models import DoseStep, TreatmentSession
from tests.conftest import PASSWORD, client_for
from tests.planning.conftest import iv_request
from tests.treatments.conftest import HIGH_BP, NORMAL, as_nurse, make_session

State = TreatmentSession.State
READY_FORM = {
    "fasting_as_instructed": "on",
    "escort_arranged": "on",
    "pregnancy_test": "not_applicable",
    "questionnaires_done": "on",
}


def url(name, session):
    return reverse(name, kwargs={"session_id": session.pk})


def post(user, name, session, data=None):
    # A fresh sign-in for each step: the time travel between steps would otherwise end the
    # session by the idle timeout.
    return client_for(user).post(url(name, session), data or {})


def supply_key(stock, drug="racemic_ketamine"):
    _, safe, lots = stock
    return f"{lots[drug].pk}:{safe.pk}"


def reload(session):
    return TreatmentSession.objects.get(pk=session.pk)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_the_page_offers_the_check_in_to_a_nurse_and_only_shows_it_to_a_coordinator(
    session, nurse, coordinator
):
    page = client_for(nurse).get(url("session-detail", session))
    assert page.status_code == 200
    assert "forms" in page.context and "check_in" in page.context["forms"]
    assert reverse("session-check-in", kwargs={"session_id": session.pk}) in page.text
    page = client_for(coordinator).get(url("session-detail", session))
    assert page.status_code == 200
    assert page.context["forms"] == {}
    assert "Waiting for check-in" in page.text


def test_the_whole_iv_session_through_the_pages(session, nurse, prescriber, clinic, stock):
    response = post(nurse, "session-check-in", session, READY_FORM)
    assert response.status_code == 302
    assert reload(session).state == State.CHECKED_IN

    # Pre-dose vitals: the gate stops a high blood pressure; the page names the rule.
    post(nurse, "session-observation", session, HIGH_BP)
    page = client_for(nurse).get(url("session-detail", session))
    assert "The gate stops dosing" in page.text and "Blood pressure above" in page.text
    assert "override" not in page.context["forms"] and "dose" not in page.context["forms"]
    page = client_for(prescriber).get(url("session-detail", session))
    assert "override" in page.context["forms"]
    response = post(
        prescriber,
        "session-gate-override",
        session,
        {"reason": "Anxious on arrival; her usual BP.", "password": PASSWORD},
    )
    assert response.status_code == 302 and reload(session).gate_open

    # The lot list holds the clinic's ketamine, not its esketamine.
    page = client_for(nurse).get(url("session-detail", session))
    choices = dict(page.context["forms"]["dose"].fields["supply"].choices)
    assert supply_key(stock) in choices and supply_key(stock, "esketamine") not in choices
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        response = post(
            nurse, "session-dose", session, {"supply": supply_key(stock), "units": "20"}
        )
    assert response.status_code == 302
    dosed = reload(session)
    assert dosed.state == State.DOSING and dosed.dose_mg == 30
    assert dosed.dispense.kind == LedgerEntry.Kind.DISPENSE

    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        page = client_for(nurse).get(url("session-detail", session))
        assert page.context["due"].overdue  # the 10-minute check was not taken
        post(
            nurse,
            "session-observation",
            session,
            {**NORMAL, "systolic": 186, "diastolic": 104, "moaas": 4, "cadss": 9},
        )
        post(
            nurse,
            "session-adverse-event",
            session,
            {"kind": "nausea", "severity": "mild", "intervention": "ondansetron 4 mg"},
        )
    with time_machine.travel(start + timedelta(minutes=25), tick=False):
        post(nurse, "session-pump", session, {"kind": "pause"})
        page = client_for(nurse).get(url("session-detail", session))
        assert page.context["paused"] and "Resume" in page.text
        post(nurse, "session-pump", session, {"kind": "resume"})
        post(nurse, "session-pump", session, {"kind": "rate_change", "rate_ml_per_h": "120"})
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        post(nurse, "session-pump", session, {"kind": "infusion_end"})
    assert [s.kind for s in reload(session).steps.all()] == [
        DoseStep.Kind.INFUSION_START,
        DoseStep.Kind.PAUSE,
        DoseStep.Kind.RESUME,
        DoseStep.Kind.RATE_CHANGE,
        DoseStep.Kind.INFUSION_END,
    ]
    assert reload(session).state == State.MONITORING

    discharge = {
        "dissociation_resolved": "on",
        "responsible_adult_present": "on",
        "password": PASSWORD,
    }
    with time_machine.travel(start + timedelta(minutes=60), tick=False):
        post(nurse, "session-observation", session, {**NORMAL, "moaas": 5, "cadss": 0})
        page = client_for(nurse).get(url("session-detail", session))
        blockers = " ".join(page.context["blockers"])
        assert "observed 60 of at least 70 minutes" in blockers
        assert "1 alert(s) wait" in blockers
        response = post(nurse, "session-discharge", session, discharge)
        assert response.status_code == 200
        assert any("not yet wasted" in m for m in messages_of(response))
        assert reload(session).state == State.MONITORING

    # The prescriber acknowledges the alert from the session page.
    (alert,) = reload(session).alerts.all()
    page = client_for(prescriber).get(url("session-detail", session))
    assert alert.message in page.text
    response = client_for(prescriber).post(
        reverse("session-alert-acknowledge", kwargs={"session_alert_id": alert.pk}),
        {"note": "Labetalol 10 mg IV; BP 150/90 at 30 min."},
    )
    assert response.status_code == 302
    registration = stock[0]
    inventory.waste(
        as_nurse(nurse, clinic),
        registration.pk,
        dispense_id=reload(session).dispense_id,
        units="17",
        reason="Remainder of vial",
        witness=Signature(prescriber.get_username(), PASSWORD),
    )
    with time_machine.travel(start + timedelta(minutes=75), tick=False):
        page = client_for(nurse).get(url("session-detail", session))
        assert page.context["blockers"] == []
        response = post(nurse, "session-discharge", session, discharge)
        assert response.status_code == 302
    done = reload(session)
    assert done.state == State.DISCHARGED
    page = client_for(nurse).get(url("session-detail", session))
    assert "Session note" in page.text and "Labetalol" in page.text
    assert "adverse event: Nausea (mild)" in page.text
    assert page.context["forms"] == {}


def test_a_refused_observation_keeps_what_was_typed(session, nurse):
    post(nurse, "session-check-in", session, READY_FORM)
    response = post(nurse, "session-observation", session, {**NORMAL, "heart_rate": 300})
    assert response.status_code == 200
    bound = load("vital_signs")["bounds"]["heart_rate"]
    assert any(
        "Implausible value" in m and f"outside {bound['min']}–{bound['max']}" in m
        for m in messages_of(response)
    )
    assert response.context["forms"]["observation"]["heart_rate"].value() == "300"
    assert not reload(session).observations.exists()


def test_an_observation_the_action_refuses_keeps_what_was_typed(session, nurse):
    """Each value within its range, together impossible (diastolic above systolic)."""
    post(nurse, "session-check-in", session, READY_FORM)
    response = post(nurse, "session-observation", session, {**NORMAL, "systolic": 70})
    assert response.status_code == 200
    assert any("Implausible values" in m and "swapped?" in m for m in messages_of(response))
    assert response.context["forms"]["observation"]["systolic"].value() == "70"
    assert not reload(session).observations.exists()


def test_the_observation_form_is_empty_with_the_last_values_beside_it(session, nurse):
    """Nothing is saved because it was left standing from the last row."""
    post(nurse, "session-check-in", session, READY_FORM)
    post(nurse, "session-observation", session, NORMAL)
    page = client_for(nurse).get(url("session-detail", session))
    form = page.context["forms"]["observation"]
    assert all(form[name].value() in (None, "") for name in form.fields)
    assert f"Last {NORMAL['systolic']} at " in page.text
    assert 'inputmode="numeric"' in page.text


@pytest.fixture
def esketamine(prescriber, nurse, clinic, patient):
    request = iv_request(
        protocol_id="esketamine_trd", dose=Decimal("56"), start_date=timezone.localdate()
    )
    return make_session(prescriber, nurse, clinic, patient, request, drug="esketamine")


def test_esketamine_devices_from_the_page_wait_their_interval(esketamine, nurse, stock):
    post(nurse, "session-check-in", esketamine, READY_FORM)
    post(nurse, "session-observation", esketamine, NORMAL)
    page = client_for(nurse).get(url("session-detail", esketamine))
    assert page.context["forms"]["dose"]["units"].value() == 2  # the plan's devices
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        post(
            nurse,
            "session-dose",
            esketamine,
            {"supply": supply_key(stock, "esketamine"), "units": "2"},
        )
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        page = client_for(nurse).get(url("session-detail", esketamine))
        devices = page.context["devices"]
        assert devices.given == 1 and devices.needed == 2
        response = post(nurse, "session-device", esketamine)
        assert response.status_code == 200
        assert any("Wait 2 min 0 s" in m for m in messages_of(response))
    assert reload(esketamine).steps.count() == 1
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        assert post(nurse, "session-device", esketamine).status_code == 302
    assert reload(esketamine).state == State.MONITORING


def test_a_refused_check_in_links_to_where_the_missing_thing_is_recorded(session, nurse, clinic):
    from tests.treatments.conftest import as_nurse, consent

    consent(as_nurse(nurse, clinic), session.patient, "treatment_ketamine", decision="withdrawn")
    page = post(nurse, "session-check-in", session, {**READY_FORM, "questionnaires_done": ""})
    consent_form = reverse("consent-new", args=[session.patient_id])
    assert f'href="{consent_form}">Record the consent</a>' in page.text
    assert "Enter today&#x27;s questionnaires</a>" in page.text
