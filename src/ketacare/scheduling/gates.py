"""The gates of a dosing appointment: what must be true before the patient can be treated,
asked at booking (a gate that blocks refuses it) and again the day before, on the "tomorrow"
checklist, where the flags wait for the intake coordinator.

Each gate asks the question the dosing day itself asks, through the same function: REMS
enrolment and the escort home are check-in's (``treatments.actions.check_in``), the plan's
signature is planning's. Which gates block is the clinic's policy (``[gates]`` of
``rules/data/booking.toml``)."""

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.models import Clinic
from ketacare.clinical.protocols.library import get_protocol
from ketacare.patients.models import ConsentRecord, Patient
from ketacare.planning.models import TreatmentPlan
from ketacare.scheduling.context import window
from ketacare.scheduling.models import Appointment
from ketacare.scheduling.rules import gate_policy
from ketacare.treatments.actions.check_in import (
    escort_needed,
    rems_enrolment_problem,
    route_check_in,
)

# Sessions a payer's authorisation counts: those booked, and those given.
COUNTED = (*Appointment.HOLDING,)


@dataclass(frozen=True)
class Gate:
    """One gate not passed: ``rule`` names it, ``message`` says what is missing, ``blocks``
    whether it refuses the booking, ``source`` where the rule comes from, ``fix_url`` the page
    that records what is missing."""

    rule: str
    message: str
    blocks: bool
    source: str
    fix_url: str = ""
    fix_label: str = ""


def _sentence(text: str) -> str:
    text = text.rstrip(".")
    return text[:1].upper() + text[1:] + "."


def dosing_gates(
    clinic: Clinic,
    patient: Patient,
    plan: TreatmentPlan | None,
    start: datetime,
    *,
    transport_arranged: bool,
    exclude: int | None = None,
) -> list[Gate]:
    """The gates a dose under ``plan`` for ``patient`` at ``start`` does not pass
    (``exclude``: the appointment being judged, which must not count against itself). No plan,
    no gates: booking a dose without a signed plan is refused on its own."""
    policy = gate_policy()
    gates: list[Gate] = []
    if plan is None:
        return gates
    protocol = get_protocol(plan.protocol_id)
    if not plan.is_signed:
        gates.append(
            Gate(
                "plan_signature",
                "The treatment plan is not signed: a prescriber signs it before its sessions "
                "are booked.",
                "plan_signature" in policy.blocks,
                policy.source,
                reverse("plan-detail", args=[plan.pk]),
                "Open the plan",
            )
        )
    rems = rems_enrolment_problem(patient, protocol)
    if rems is not None:
        gates.append(
            Gate(
                "rems_enrolment",
                _sentence(rems),
                "rems_enrolment" in policy.blocks,
                str(route_check_in(protocol)["rems_source"]),
                reverse("consent-new", args=[patient.pk])
                + f"?kind={ConsentRecord.Kind.REMS_ENROLLMENT}",
                "Record the REMS enrolment",
            )
        )
    escort = escort_needed(protocol)
    if escort is not None and not transport_arranged:
        gates.append(
            Gate(
                "transport_home",
                _sentence(escort[0]),
                "transport_home" in policy.blocks,
                escort[1],
            )
        )
    authorisation = authorisation_problem(clinic, patient, start, exclude)
    if authorisation is not None:
        gates.append(
            Gate(
                "authorisation",
                authorisation,
                "authorisation" in policy.blocks,
                policy.source,
                reverse("patient-authorisations", args=[patient.pk]),
                "Record an authorisation",
            )
        )
    return gates


def authorisation_problem(
    clinic: Clinic, patient: Patient, start: datetime, exclude: int | None = None
) -> str | None:
    """Why no payer authorisation pays for a dose at ``start`` — none covers its day, or the
    ones that do are used up by the sessions booked or given before it — or None."""
    day = timezone.localtime(start, clinic.zone).date()
    # From the patient's related rows, so that a list of appointments answers from one
    # prefetch each (``checklist_day``); a patient has a few authorisations and, at most,
    # some hundred appointments.
    authorisations = sorted(
        (a for a in patient.authorisations.all() if a.clinic_id == clinic.pk),
        key=lambda a: (a.valid_from, a.pk),
        reverse=True,
    )
    if not authorisations:
        if gate_policy().authorisation_required:
            return "No payer authorisation is on record."
        return None
    covering = [a for a in authorisations if a.valid_from <= day <= a.valid_to]
    if not covering:
        latest = authorisations[0]
        return (
            f"No payer authorisation covers {day:%Y-%m-%d}: {latest.payer} {latest.reference} "
            f"runs {latest.valid_from:%Y-%m-%d} to {latest.valid_to:%Y-%m-%d}."
        )
    doses = [
        a.start
        for a in patient.appointments.all()
        if a.kind == Appointment.Kind.DOSING and a.state in COUNTED and a.pk != exclude
    ]
    for authorisation in covering:
        first, _ = window(clinic, authorisation.valid_from, authorisation.valid_to)
        used = sum(1 for moment in doses if first <= moment < start)
        if used < authorisation.approved_sessions:
            return None
    used_up = covering[0]
    return (
        f"{used_up.payer} {used_up.reference} approved {used_up.approved_sessions} sessions "
        f"({used_up.valid_from:%Y-%m-%d} to {used_up.valid_to:%Y-%m-%d}); all are booked or "
        "given before this one."
    )


def dose_plan(appointment: Appointment) -> TreatmentPlan | None:
    """The plan a dosing appointment gives a dose of: its planned session's plan, or for a dose
    outside the induction (maintenance) the patient's latest signed plan; None for any other
    appointment, or a patient without a signed plan. The rules (its protocol) and the gates
    both ask here, so a dose is never judged under one plan and gated under another."""
    if appointment.kind != Appointment.Kind.DOSING:
        return None
    if appointment.planned is not None:
        return appointment.planned.plan
    return (
        TreatmentPlan.objects.filter(
            patient=appointment.patient_id,
            clinic=appointment.clinic_id,
            state=TreatmentPlan.State.SIGNED,
        )
        .order_by("-signed_at", "-pk")
        .first()
    )


def gates_of(appointment: Appointment) -> list[Gate]:
    """The gates a booked dosing appointment does not pass now (the "tomorrow" checklist)."""
    if appointment.kind != Appointment.Kind.DOSING:
        return []
    return dosing_gates(
        appointment.clinic,
        appointment.patient,
        dose_plan(appointment),
        appointment.start,
        transport_arranged=appointment.transport_arranged,
        exclude=appointment.pk,
    )
