"""A dose changed at the bedside obeys the same limits as a planned one
(``clinical.protocols.dose.check_dose``): whole devices of the label's doses for esketamine,
the protocol's mg/kg ceiling on the plan's weight and its absolute cap for IV ketamine — through
the action and through a direct POST, with nothing dispensed when refused."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.permissions import Role
from ketacare.inventory.models import LedgerEntry
from ketacare.treatments import actions
from ketacare.treatments.actions import SessionError
from ketacare.treatments.models import TreatmentSession
from tests.conftest import actor, client_for
from tests.planning.conftest import iv_request
from tests.treatments.conftest import NORMAL, READY, as_nurse, make_session, supply


def ready(session, nurse, clinic):
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, NORMAL)
    return session


@pytest.fixture
def esketamine(prescriber, nurse, clinic, patient):
    request = iv_request(
        protocol_id="esketamine_trd", dose=Decimal("56"), start_date=timezone.localdate()
    )
    return ready(
        make_session(prescriber, nurse, clinic, patient, request, drug="esketamine"), nurse, clinic
    )


@pytest.fixture
def iv(session, nurse, clinic):
    return ready(session, nurse, clinic)


def dispensed():
    return LedgerEntry.objects.filter(kind=LedgerEntry.Kind.DISPENSE).count()


@pytest.mark.parametrize(
    ("dose", "message"),
    [
        ("85", "not a whole number of 28 mg devices"),
        ("70", "not a whole number of 28 mg devices"),
        ("168", "must be one of 56 mg, 84 mg"),
    ],
)
def test_an_esketamine_dose_outside_the_label_is_refused(
    esketamine, prescriber, clinic, stock, dose, message
):
    doctor = actor(prescriber, clinic, Role.PRESCRIBER)
    with pytest.raises(SessionError, match=message):
        actions.start_dose(doctor, esketamine.pk, supply(stock, "esketamine", "6"), dose, "more")
    assert dispensed() == 0
    assert TreatmentSession.objects.get(pk=esketamine.pk).state == "checked_in"


def test_84_mg_of_esketamine_is_allowed(esketamine, prescriber, clinic, stock):
    doctor = actor(prescriber, clinic, Role.PRESCRIBER)
    dosed = actions.start_dose(
        doctor, esketamine.pk, supply(stock, "esketamine", "3"), "84", "Titrated to 84 mg"
    )
    assert dosed.dose_mg == 84


def test_an_iv_dose_above_the_mg_per_kg_ceiling_on_the_plans_weight_is_refused(
    iv, prescriber, clinic, stock
):
    # The plan's weight is 61.5 kg: 61.5 mg is 1.0 mg/kg, 62.1 mg is 1.01 mg/kg.
    doctor = actor(prescriber, clinic, Role.PRESCRIBER)
    for dose in ("62.1", "400"):
        with pytest.raises(SessionError, match="anaesthetic range"):
            actions.start_dose(doctor, iv.pk, supply(stock), dose, "More")
    assert dispensed() == 0
    dosed = actions.start_dose(doctor, iv.pk, supply(stock), "61.5", "1.0 mg/kg")
    assert dosed.dose_mg == Decimal("61.5")


def test_a_direct_post_of_a_dose_past_the_limit_is_refused(esketamine, prescriber, stock):
    _, safe, lots = stock
    url = reverse("session-dose", kwargs={"session_id": esketamine.pk})
    response = client_for(prescriber).post(
        url,
        {
            "supply": f"{lots['esketamine'].pk}:{safe.pk}",
            "units": "6",
            "dose_mg": "168",
            "change_reason": "More",
        },
    )
    assert "Dose refused" in response.content.decode()
    assert dispensed() == 0
