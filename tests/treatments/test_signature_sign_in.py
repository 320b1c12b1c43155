"""The dosing day's signatures — the prescriber's gate override, the nurse's discharge and
transfer — are sign-ins (``accounts.reauth``), from the action and from a direct POST: wrong
passwords count toward the signer's lock-out and are audited, a locked account cannot sign
even with the right password, every failure reads the same, and a signer with an authenticator
gives its code."""

import pytest
from django.conf import settings
from django.urls import reverse

from ketacare.accounts.permissions import Role
from ketacare.treatments import actions
from ketacare.treatments.actions import SessionError
from ketacare.treatments.models import TreatmentSession
from tests.accounts.reauth_checks import (
    REFUSED,
    authenticator,
    code_for,
    fail_sign_in_until_locked,
    prompt_failures,
    sign_in_is_locked,
    signed_in,
)
from tests.conftest import PASSWORD, actor
from tests.treatments.conftest import HIGH_BP, NORMAL, READY, as_nurse, supply

REASON = "Anxious on arrival; her usual blood pressure."
DISCHARGE = {"dissociation_resolved": "on", "responsible_adult_present": "on"}


@pytest.fixture
def stopped(session, nurse, clinic):
    """Checked in, with pre-dose vitals the gate stops."""
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, HIGH_BP)
    return session


@pytest.fixture
def dosing(session, nurse, clinic, stock):
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, NORMAL)
    actions.start_dose(who, session.pk, supply(stock))
    return session


def reload(session):
    return TreatmentSession.objects.get(pk=session.pk)


def post(client, name, session, data):
    return client.post(reverse(name, kwargs={"session_id": session.pk}), data)


def messages_of(response):
    return " ".join(str(m) for m in response.context["messages"])


def refusal(call, *args, **kwargs):
    with pytest.raises(SessionError) as refused:
        call(*args, **kwargs)
    return str(refused.value)


# --- the gate override ------------------------------------------------------------------------


def test_five_wrong_override_passwords_lock_the_prescriber_out(stopped, prescriber, clinic):
    who = actor(prescriber, clinic, Role.PRESCRIBER)
    for n in range(settings.AXES_FAILURE_LIMIT):
        assert refusal(actions.override_gate, who, stopped.pk, REASON, f"guess {n}") == REFUSED
    assert refusal(actions.override_gate, who, stopped.pk, REASON, PASSWORD) == REFUSED
    assert sign_in_is_locked(prescriber)
    events = prompt_failures("gate override")
    assert len(events) == settings.AXES_FAILURE_LIMIT + 1
    assert events[-1].changes["locked_out"] is True
    assert not reload(stopped).gate_open


def test_the_override_page_refuses_alike_and_takes_a_code(stopped, prescriber):
    device = authenticator(prescriber)
    client = signed_in(prescriber, device)
    wrong = post(client, "session-gate-override", stopped, {"reason": REASON, "password": "x"})
    no_code = post(
        client, "session-gate-override", stopped, {"reason": REASON, "password": PASSWORD}
    )
    assert messages_of(wrong) == messages_of(no_code) == REFUSED
    assert [e.changes["reason"] for e in prompt_failures("gate override")] == [
        "credentials",
        "second factor missing",
    ]
    assert 'name="code"' in no_code.content.decode()
    signed = post(
        client,
        "session-gate-override",
        stopped,
        {"reason": REASON, "password": PASSWORD, "code": code_for(device)},
    )
    assert signed.status_code == 302 and reload(stopped).gate_open


# --- discharge and transfer -------------------------------------------------------------------


def test_wrong_discharge_passwords_lock_the_nurse_out(stopped, nurse):
    client = signed_in(nurse)
    for n in range(settings.AXES_FAILURE_LIMIT):
        response = post(client, "session-discharge", stopped, {**DISCHARGE, "password": f"g{n}"})
        assert messages_of(response) == REFUSED
    response = post(client, "session-discharge", stopped, {**DISCHARGE, "password": PASSWORD})
    assert messages_of(response) == REFUSED
    assert sign_in_is_locked(nurse)
    assert len(prompt_failures("discharge signature")) == settings.AXES_FAILURE_LIMIT + 1
    assert reload(stopped).state == TreatmentSession.State.CHECKED_IN


def test_a_nurse_with_an_authenticator_signs_the_discharge_with_its_code(stopped, nurse, clinic):
    device = authenticator(nurse)
    who = as_nurse(nurse, clinic)
    sign = {"dissociation_resolved": True, "responsible_adult_present": True}
    assert refusal(actions.discharge, who, stopped.pk, password=PASSWORD, **sign) == REFUSED
    # With the code the signature is accepted; the session, not yet dosed, is what refuses.
    message = refusal(
        actions.discharge, who, stopped.pk, password=PASSWORD, code=code_for(device), **sign
    )
    assert message != REFUSED and "signature" not in message


def test_a_locked_out_nurse_cannot_sign_a_transfer(dosing, nurse, prescriber, clinic):
    client = signed_in(nurse)  # still signed in on the ward's screen when the lock-out comes
    fail_sign_in_until_locked(nurse)
    form = {
        "destination": "Riverside General emergency department",
        "reason": "Chest pain and BP 210/120 during the infusion.",
        "decided_by": prescriber.pk,
        "password": PASSWORD,
    }
    assert messages_of(post(client, "session-transfer", dosing, form)) == REFUSED
    assert (
        refusal(
            actions.transfer,
            as_nurse(nurse, clinic),
            dosing.pk,
            destination="ED",
            reason="Chest pain",
            decided_by_id=prescriber.pk,
            password=PASSWORD,
        )
        == REFUSED
    )
    assert len(prompt_failures("transfer signature")) == 2
    assert reload(dosing).state == TreatmentSession.State.DOSING
