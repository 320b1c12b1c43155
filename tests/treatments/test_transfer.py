"""A dosed patient transferred to emergency care: when, where, why and who decided; the note
is locked; the criteria of discharge do not stand in the way; bad input changes nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from ketacare.treatments import actions
from ketacare.treatments.actions import SessionError
from ketacare.treatments.models import TreatmentSession
from tests.conftest import PASSWORD, client_for
from tests.treatments.conftest import NORMAL, READY, as_nurse, supply


@pytest.fixture
def dosing(session, nurse, clinic, stock):
    who = as_nurse(nurse, clinic)
    actions.check_in(who, session.pk, READY)
    actions.record_observation(who, session.pk, NORMAL)
    actions.start_dose(who, session.pk, supply(stock))
    return session


def form(decider, **extra):
    return {
        "destination": "Riverside General emergency department",
        "reason": "Chest pain and BP 210/120 during the infusion.",
        "decided_by": decider.pk,
        "password": PASSWORD,
        **extra,
    }


def test_a_transfer_mid_infusion_ends_the_session_and_locks_the_note(
    dosing, nurse, prescriber, clinic
):
    with time_machine.travel(timezone.now() + timedelta(minutes=12), tick=False):
        done = actions.transfer(
            as_nurse(nurse, clinic),
            dosing.pk,
            destination="Riverside General emergency department",
            reason="Chest pain.",
            decided_by_id=prescriber.pk,
            password=PASSWORD,
        )
    assert done.state == "transferred" and done.ended
    assert done.dose_ended_at == done.transferred_at
    assert "transferred to Riverside General emergency department on the decision of" in done.note
    assert prescriber.get_full_name() in done.note


def test_a_transfer_needs_where_why_and_who_and_changes_nothing_without(
    dosing, nurse, clinic, other_clinic
):
    from ketacare.accounts.actions import create_staff
    from ketacare.actor import SYSTEM

    elsewhere = create_staff(
        SYSTEM, clinic=other_clinic, username="far", password=PASSWORD, role="prescriber"
    )
    who = as_nurse(nurse, clinic)
    with pytest.raises(SessionError) as refused:
        actions.transfer(
            who, dosing.pk, destination=" ", reason="", decided_by_id=None, password=PASSWORD
        )
    assert "Name where the patient is going" in str(refused.value)
    assert "write why" in str(refused.value) and "who decided" in str(refused.value)
    with pytest.raises(SessionError, match="staff member of this clinic"):
        actions.transfer(
            who,
            dosing.pk,
            destination="ED",
            reason="x",
            decided_by_id=elsewhere.pk,
            password=PASSWORD,
        )
    with pytest.raises(SessionError, match="signature was not accepted"):
        actions.transfer(
            who, dosing.pk, destination="ED", reason="x", decided_by_id=nurse.pk, password="no"
        )
    assert TreatmentSession.objects.get(pk=dosing.pk).state == "dosing"


def test_a_session_not_dosed_cannot_be_transferred(session, nurse, clinic):
    with pytest.raises(SessionError, match="needs a session that is dosing or monitoring"):
        actions.transfer(
            as_nurse(nurse, clinic),
            session.pk,
            destination="ED",
            reason="x",
            decided_by_id=nurse.pk,
            password=PASSWORD,
        )


def test_the_page_records_a_transfer_and_shows_it(dosing, nurse, prescriber):
    url = reverse("session-transfer", kwargs={"session_id": dosing.pk})
    page = client_for(nurse).get(reverse("session-detail", kwargs={"session_id": dosing.pk}))
    assert "Transfer to emergency care" in page.content.decode()
    refused = client_for(nurse).post(url, form(prescriber, decided_by="x"))
    assert "Who decided" in refused.content.decode()
    assert TreatmentSession.objects.get(pk=dosing.pk).state == "dosing"
    response = client_for(nurse).post(url, form(prescriber), follow=True)
    page = response.content.decode()
    assert "Transferred to Riverside General emergency department" in page
    assert TreatmentSession.objects.get(pk=dosing.pk).state == "transferred"


def test_the_session_page_says_which_adverse_events_are_serious(dosing, nurse, clinic):
    who = as_nurse(nurse, clinic)
    actions.record_adverse_event(who, dosing.pk, "nausea", "severe")
    actions.record_adverse_event(
        who, dosing.pk, "hypertension", "mild", serious_criteria=("hospitalisation",)
    )
    page = client_for(nurse).get(reverse("session-detail", kwargs={"session_id": dosing.pk}))
    html = page.content.decode()
    assert "<td>Severe</td><td>No</td>" in html
    assert '<strong class="bad">Yes</strong>: hospitalisation' in html


def test_staff_deactivated_here_are_not_offered_as_the_decider(dosing, nurse, prescriber, clinic):
    from ketacare.accounts.models import Membership

    Membership.objects.filter(user=prescriber, clinic=clinic).update(active=False)
    page = client_for(nurse).get(reverse("session-detail", kwargs={"session_id": dosing.pk}))
    choices = dict(page.context["forms"]["transfer"].fields["decided_by"].choices)
    assert prescriber.pk not in choices and nurse.pk in choices
    with pytest.raises(SessionError, match="staff member of this clinic"):
        actions.transfer(
            as_nurse(nurse, clinic),
            dosing.pk,
            destination="ED",
            reason="x",
            decided_by_id=prescriber.pk,
            password=PASSWORD,
        )
