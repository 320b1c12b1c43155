"""Every change the intake queue makes to a referral: its state, the contact attempts, and
accepting it as a patient. Each runs in one transaction, writes its audit event and, for a
change of state, a line of the referral's history (``ReferralChange``, append-only); a refusal
(``IntakeError``) writes nothing. Which state may follow which is ``states``, judged in one
place: ``write_change``."""

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from ketacare.accounts.permissions import PERMISSIONS, ROLE_LABELS, Role, allowed
from ketacare.actor import Actor
from ketacare.audit.record import Action, field_changes
from ketacare.clinical.datafiles import load
from ketacare.measures.actions.assignments import assign_instrument
from ketacare.patients import actions as patients
from ketacare.patients.models import Patient
from ketacare.referrals import states
from ketacare.referrals.models import ContactAttempt, Referral, ReferralChange
from ketacare.referrals.welcome import invite_to_portal
from ketacare.refusals import ActionRefused
from ketacare.scheduling.actions.appointments import book
from ketacare.scheduling.models import Appointment
from ketacare.writes import DATABASE, Writes

# A contact attempt logged this far ahead of the server's clock is a typo, not clock skew.
FUTURE_SLACK = timedelta(minutes=5)


class IntakeError(ActionRefused):
    """The queue refused a change; the message says why. Nothing was written."""


def policy() -> dict[str, Any]:
    return load("intake", "ketacare.referrals")


def _may(actor: Actor, action: str) -> None:
    # Checked here as well as by the page: the demo and the tests call the actions directly.
    if actor.role not in set(Role) or not allowed(actor.role, action):
        roles = ", ".join(sorted(ROLE_LABELS[Role(r)] for r in PERMISSIONS[action]))
        raise IntakeError(f"Only these roles may do this: {roles}.")
    if actor.user is None:
        raise IntakeError("Only a signed-in staff member works the intake queue.")


def _locked(actor: Actor, referral_id: int) -> Referral:
    referral = (
        Referral.objects.select_for_update().filter(pk=referral_id, clinic=actor.clinic).first()
    )
    if referral is None:
        raise IntakeError("No such referral.")
    return referral


def write_change(
    writes: Writes,
    actor: Actor,
    referral: Referral,
    new_state: str,
    *,
    reason: str = "",
    referred_to: str = "",
    note: str = "",
    booked: bool = False,
) -> ReferralChange:
    """The one place a referral changes state: judged by ``states.transition_problems``, then
    the referral, its history line and the audit event."""
    problems = states.transition_problems(
        referral.state, new_state, reason=reason, referred_to=referred_to, booked=booked
    )
    if problems:
        raise IntakeError(" ".join(problems))
    old_state, now = referral.state, actor.now()
    referral.state, referral.state_changed_at = new_state, now
    if new_state == states.NOT_A_FIT:
        referral.not_a_fit_reason, referral.referred_to = reason, referred_to.strip()
    writes.save(referral, "state", "state_changed_at", "not_a_fit_reason", "referred_to")
    change = writes.add(
        ReferralChange(
            referral=referral,
            changed_by=actor.user,
            changed_at=now,
            old_state=old_state,
            new_state=new_state,
            reason=reason if new_state == states.NOT_A_FIT else "",
            referred_to=referred_to.strip() if new_state == states.NOT_A_FIT else "",
            note=note.strip(),
        )
    )
    after: dict[str, Any] = {"state": new_state}
    if new_state == states.NOT_A_FIT:
        after |= {"not_a_fit_reason": reason, "referred_to": referred_to.strip()}
    writes.record(
        actor,
        Action.UPDATE,
        obj=referral,
        clinic=actor.clinic,
        changes=field_changes({"state": old_state}, after),
    )
    return change


@transaction.atomic
def change_state(
    actor: Actor,
    referral_id: int,
    new_state: str,
    *,
    reason: str = "",
    referred_to: str = "",
    note: str = "",
) -> Referral:
    """Close a referral as not a fit (with why and where the person was referred) or as
    withdrawn. "Contacted" and "evaluation booked" come from their own actions."""
    _may(actor, "referrals.manage")
    referral = _locked(actor, referral_id)
    if new_state == states.CONTACTED:
        raise IntakeError("A referral becomes contacted when a contact attempt is logged.")
    write_change(
        DATABASE, actor, referral, new_state, reason=reason, referred_to=referred_to, note=note
    )
    return referral


@transaction.atomic
def log_contact(
    actor: Actor, referral_id: int, *, at: datetime, channel: str, outcome: str, note: str = ""
) -> ContactAttempt:
    """Log one attempt to reach the person; the first moves a new referral to contacted."""
    _may(actor, "referrals.manage")
    referral = _locked(actor, referral_id)
    problems = []
    if channel not in ContactAttempt.Channel.values:
        problems.append("Choose how the contact was attempted.")
    if outcome not in ContactAttempt.Outcome.values:
        problems.append("Choose how the attempt went.")
    if at > actor.now() + FUTURE_SLACK:
        problems.append("The attempt's time is in the future.")
    # The form gives times to the minute: an attempt in the minute the referral arrived is
    # taken to be at its arrival (not before it, which would make the wait negative).
    if referral.created_at.replace(second=0, microsecond=0) <= at < referral.created_at:
        at = referral.created_at
    if at < referral.created_at:
        problems.append("The attempt's time is before the referral arrived.")
    if not states.NEXT[referral.state]:
        problems.append(f"The referral is {states.LABELS[referral.state].lower()}.")
    if problems:
        raise IntakeError(" ".join(problems))
    attempt = ContactAttempt.objects.create(
        referral=referral,
        made_by=actor.user,
        at=at,
        channel=channel,
        outcome=outcome,
        note=note.strip(),
        recorded_at=actor.now(),
    )
    DATABASE.record(
        actor,
        Action.CREATE,
        obj=attempt,
        clinic=actor.clinic,
        changes={"referral": referral.pk, "channel": channel, "outcome": outcome},
    )
    if referral.first_contact_at is None or at < referral.first_contact_at:
        referral.first_contact_at = at
        referral.save(update_fields=["first_contact_at"])
    if referral.state == states.NEW:
        write_change(DATABASE, actor, referral, states.CONTACTED, note="First contact attempt.")
    return attempt


@transaction.atomic
def accept(
    actor: Actor,
    referral_id: int,
    *,
    sex_at_birth: str,
    confirmed_duplicates: Collection[int] = (),
    evaluation_start: datetime | None = None,
    chair_id: int | None = None,
    existing_patient_id: int | None = None,
) -> tuple[Referral, Patient, Appointment | None]:
    """Make the referral's person a patient (the patients app's own registration, from the
    referral's details: nothing retyped but the sex at birth, which the public form does not
    ask) — or, with ``existing_patient_id``, link it to that patient of the clinic, the person
    the duplicate check found —, send them the intake questionnaires they do not have yet and,
    given a time, book the evaluation, which moves the referral to "evaluation booked";
    without one it stays contacted, the patient linked. Accepting twice is refused: the
    referral names its patient."""
    _may(actor, "referrals.manage")
    referral = _locked(actor, referral_id)
    if referral.patient_id is not None:
        raise IntakeError("This referral was already accepted; open the patient's chart.")
    if referral.state != states.CONTACTED:
        raise IntakeError(
            "Only a contacted referral is accepted: log the contact with the person first."
            if referral.state == states.NEW
            else f"The referral is {states.LABELS[referral.state].lower()}."
        )
    if existing_patient_id is not None:
        patient = _existing(actor, existing_patient_id)
    else:
        patient = _register(actor, referral, sex_at_birth, confirmed_duplicates)
    referral.patient = patient
    referral.save(update_fields=["patient"])
    DATABASE.record(
        actor,
        Action.UPDATE,
        obj=referral,
        clinic=actor.clinic,
        patient=patient,
        changes={"accepted_as" if existing_patient_id is None else "accepted_into": patient.mrn},
    )
    invite_to_portal(actor, referral, patient)
    rules = policy()["accept"]
    active = set(patient.assignments.filter(active=True).values_list("instrument_id", flat=True))
    for instrument_id in rules["questionnaires"]:
        if instrument_id not in active:
            assign_instrument(actor, patient, instrument_id, "once", actor.today())
    appointment = None
    if evaluation_start is not None:
        appointment = book(
            actor,
            patient_id=patient.pk,
            kind=Appointment.Kind.EVALUATION,
            start=evaluation_start,
            end=evaluation_start + timedelta(minutes=rules["evaluation_minutes"]),
            chair_id=chair_id,
        )
        write_change(
            DATABASE,
            actor,
            referral,
            states.EVALUATION_BOOKED,
            booked=True,
            note=f"Evaluation booked for {evaluation_start:%Y-%m-%d %H:%M}.",
        )
    return referral, patient, appointment


def _existing(actor: Actor, patient_id: int) -> Patient:
    patient = Patient.objects.filter(pk=patient_id, clinic=actor.clinic).first()
    if patient is None:
        raise IntakeError("No such patient at this clinic.")
    if Referral.objects.filter(patient=patient).exists():
        # A referral names one patient and a patient one referral (the chart shows it).
        raise IntakeError(
            f"{patient.full_name} already came through an earlier referral; close this one "
            "as withdrawn with a note, and carry on from their chart."
        )
    return patient


def _register(
    actor: Actor, referral: Referral, sex_at_birth: str, confirmed_duplicates: Collection[int]
) -> Patient:
    if not (referral.given_name and referral.family_name and referral.date_of_birth):
        raise IntakeError(
            "The referral has no full name and date of birth; register the patient from "
            "the patients page with what the person tells you."
        )
    if sex_at_birth not in Patient.SexAtBirth.values:
        raise IntakeError("Choose the sex at birth.")
    data = {
        "given_name": referral.given_name,
        "family_name": referral.family_name,
        "date_of_birth": referral.date_of_birth,
        "sex_at_birth": sex_at_birth,
        "phone": referral.phone,
        "email": referral.email,
    }
    if len(referral.phone) > Patient._meta.get_field("phone").max_length:  # type: ignore[operator]
        raise IntakeError("The phone number is too long for a patient record; correct it first.")
    try:
        return patients.create_patient(actor, data, confirmed_duplicates)
    except patients.LikelyDuplicates as found:
        raise IntakeError(str(found)) from None
