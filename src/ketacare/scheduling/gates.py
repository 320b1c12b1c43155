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
from ketacare.scheduling.doses import dose_plan
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
    booking: bool = True,
) -> list[Gate]:
    """The gates a dose under ``plan`` for ``patient`` at ``start`` does not pass
    (``exclude``: the appointment being judged, which must not count against itself;
    ``booking``: judged as a new booking, not as one already on the book — see
    ``authorisation_problem``). No plan, no gates: booking a dose without a signed plan is
    refused on its own."""
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
    authorisation = authorisation_problem(clinic, patient, start, exclude, booking=booking)
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
    clinic: Clinic,
    patient: Patient,
    start: datetime,
    exclude: int | None = None,
    *,
    booking: bool = False,
) -> str | None:
    """Why no payer authorisation pays for a dose at ``start`` — none covers its day, or the
    ones that do are used up — or None. A dose being booked (``booking``) needs a session
    left after every dose already booked or given in the authorisation's dates; a dose
    already on the book is covered when it is among the first the authorisation approved."""
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
        first, last = window(clinic, authorisation.valid_from, authorisation.valid_to)
        until = last if booking else start
        used = sum(1 for moment in doses if first <= moment < until)
        if used < authorisation.approved_sessions:
            return None
    used_up = covering[0]
    return (
        f"{used_up.payer} {used_up.reference} approved {used_up.approved_sessions} sessions "
        f"({used_up.valid_from:%Y-%m-%d} to {used_up.valid_to:%Y-%m-%d}); all are booked or "
        + ("given." if booking else "given before this one.")
    )


def gates_of(appointment: Appointment, plans: dict[int, TreatmentPlan] | None = None) -> list[Gate]:
    """The gates a booked dosing appointment does not pass now (the "tomorrow" checklist).
    ``plans``: the patients' latest signed plans (``doses.latest_signed_plans``), when a list
    of appointments looked them up at once."""
    if appointment.kind != Appointment.Kind.DOSING:
        return []
    if appointment.planned is None and plans is not None:
        plan = plans.get(appointment.patient_id)
    else:
        plan = dose_plan(appointment)
    return dosing_gates(
        appointment.clinic,
        appointment.patient,
        plan,
        appointment.start,
        transport_arranged=appointment.transport_arranged,
        exclude=appointment.pk,
        booking=False,
    )
