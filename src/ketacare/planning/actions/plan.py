"""The treatment plan's actions: drafted (dose and schedule worked out, eligibility checked),
signed (checked again, its induction sessions scheduled) or discarded."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from ketacare.actor import Actor
from ketacare.audit.record import Action, record
from ketacare.clinical.datafiles import load
from ketacare.clinical.protocols import DoseOrder, DoseRefused, calculate_dose
from ketacare.clinical.protocols.library import Protocol, get_protocol
from ketacare.clinical.protocols.schedule import ScheduleError, induction_schedule
from ketacare.patients.models import BodyMeasurement, Patient
from ketacare.planning.actions.checks import (
    PLAN_SIGNATURE,
    PlanningError,
    confirm_signature,
    locked_evaluation,
    within_bounds,
)
from ketacare.planning.answers import CHOICE_LABELS
from ketacare.planning.models import Evaluation, PlannedSession, TreatmentPlan
from ketacare.planning.queries import consent_problem
from ketacare.planning.signature import plan_digest
from ketacare.planning.verdicts import RouteStatus, effective_answers, route_status
from ketacare.writes import DATABASE, Writes


@dataclass(frozen=True)
class PlanRequest:
    protocol_id: str
    dose: Decimal
    start_date: date
    vial_mg_per_ml: Decimal | None = None
    infusion_minutes: int | None = None
    use_adjusted_weight: bool = False


def dose_order(
    protocol: Protocol, patient: Patient, request: PlanRequest, today: date
) -> DoseOrder:
    """What the plan's dose means for this patient today, or PlanningError naming the limit."""
    if not protocol.weight_based:
        return dose_for(protocol, request, today, None, patient.sex_at_birth)
    vials = [Decimal(str(v)) for v in load("dose_policy")["vial_mg_per_ml"]]
    if request.vial_mg_per_ml is not None and request.vial_mg_per_ml not in vials:
        raise PlanningError(
            f"{request.vial_mg_per_ml} mg/mL is not a vial strength this clinic stocks "
            f"({', '.join(f'{v} mg/mL' for v in vials)})."
        )
    measurement = BodyMeasurement.objects.filter(patient=patient).first()
    if measurement is None:
        raise PlanningError("Record the patient's weight: the dose is weight-based.")
    height = next(
        (m.height_cm for m in BodyMeasurement.objects.filter(patient=patient) if m.height_cm),
        None,
    )
    weight = Weight(measurement.weight_kg, measurement.measured_on, height)
    return dose_for(protocol, request, today, weight, patient.sex_at_birth)


@dataclass(frozen=True)
class Weight:
    """The latest weight on record, the day it was measured, and the latest height."""

    kg: Decimal
    measured_on: date
    height_cm: Decimal | None


def dose_for(
    protocol: Protocol, request: PlanRequest, today: date, weight: Weight | None, sex: str
) -> DoseOrder:
    """``dose_order`` on a weight already read (the bulk path keeps the patient's in memory);
    ``weight`` is needed when the protocol's dose is weight-based."""
    try:
        if not protocol.weight_based:
            return calculate_dose(protocol, fixed_mg=request.dose)
        assert weight is not None
        return calculate_dose(
            protocol,
            mg_per_kg=request.dose,
            weight_kg=weight.kg,
            weight_measured_on=weight.measured_on,
            today=today,
            height_cm=weight.height_cm,
            sex=sex,
            use_adjusted_weight=request.use_adjusted_weight,
            vial_mg_per_ml=request.vial_mg_per_ml,
            infusion_minutes=request.infusion_minutes,
        )
    except DoseRefused as refusal:
        # The limit's id stays with the calculator (its CLI and tests); staff read the reason.
        raise PlanningError(str(refusal).removesuffix(f" [rule: {refusal.rule}]")) from None


def order_dict(order: DoseOrder, actual_weight_kg: Decimal | None) -> dict[str, Any]:
    """The dose order as the plan keeps it, with the patient's latest weight: the PK models
    scale by the actual weight even when the dose used an adjusted one."""

    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    return {
        "dose_mg": str(order.dose_mg),
        "actual_weight_kg": text(actual_weight_kg),
        "weight_used_kg": text(order.weight_used_kg),
        "weight_basis": order.weight_basis,
        "volume_ml": text(order.volume_ml),
        "vial_mg_per_ml": text(order.vial_mg_per_ml),
        "infusion_minutes": order.infusion_minutes,
        "rate_ml_per_h": text(order.rate_ml_per_h),
        "devices": order.devices,
    }


def _latest_weight(patient: Patient) -> Decimal | None:
    latest = BodyMeasurement.objects.filter(patient=patient).first()
    return latest.weight_kg if latest else None


def _comparable(order: dict[str, Any]) -> dict[str, Any]:
    """The order with numbers as Decimals: "50" and "50.0" mg/mL are the same vial."""
    return {
        key: Decimal(value) if isinstance(value, str) and key != "weight_basis" else value
        for key, value in order.items()
    }


def proposed_schedule(plan: TreatmentPlan) -> list[date]:
    return induction_dates(get_protocol(plan.protocol_id), plan.start_date, plan.clinic.weekdays)


def induction_dates(protocol: Protocol, start: date, weekdays: frozenset[int]) -> list[date]:
    try:
        return induction_schedule(protocol, start, weekdays)
    except ScheduleError as error:
        raise PlanningError(str(error)) from None


@transaction.atomic
def draft_plan(actor: Actor, evaluation_id: int, request: PlanRequest) -> TreatmentPlan:
    """A plan for a prescriber to check and sign: dose, schedule and the eligibility it rests on."""
    # The lock makes a double submit wait, then meet the draft the first one wrote.
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation_id, clinic=actor.clinic)
    if not evaluation.is_signed:
        raise PlanningError("A plan needs a signed evaluation.")
    waiting = evaluation.plans.filter(state=TreatmentPlan.State.DRAFT).first()
    if waiting is not None:
        raise PlanningError(
            f"A draft plan from {waiting.created_at:%Y-%m-%d} already waits for signature "
            "under this evaluation: sign it, or draft again once it is dealt with."
        )
    try:
        protocol = get_protocol(request.protocol_id)
    except LookupError as error:
        raise PlanningError(str(error)) from None
    today = actor.today()
    within_bounds(request.start_date, today, "The first session's date")
    if request.start_date < today:
        raise PlanningError(f"The first session ({request.start_date}) is in the past.")
    required = protocol.required_indication
    indication = effective_answers(evaluation)["indication"]
    if required and indication != required:
        raise PlanningError(
            f"{protocol.name} is for the indication “{CHOICE_LABELS.get(required, required)}”; "
            f"this evaluation's is “{CHOICE_LABELS.get(indication, indication)}”."
        )
    if request.dose not in protocol.dose_choices:
        unit = "mg/kg" if protocol.weight_based else "mg"
        doses = " or ".join(f"{d} {unit}" for d in protocol.dose_choices)
        raise PlanningError(f"{protocol.name} starts at {doses}.")
    status = route_status(evaluation, protocol.eligibility_route)
    if not status.usable:
        raise PlanningError(status.refusal())
    order = dose_order(protocol, evaluation.patient, request, today)
    # Refuse now a start that cannot be scheduled.
    induction_dates(protocol, request.start_date, evaluation.clinic.weekdays)
    return write_draft_plan(
        DATABASE,
        actor,
        evaluation,
        protocol,
        request,
        order_dict(order, _latest_weight(evaluation.patient)),
        status,
    )


def write_draft_plan(
    writes: Writes,
    actor: Actor,
    evaluation: Evaluation,
    protocol: Protocol,
    request: PlanRequest,
    order: dict[str, Any],
    status: RouteStatus,
) -> TreatmentPlan:
    """What drafting a plan writes, once its checks have passed (``draft_plan``): ``order`` is
    the dose order as the plan keeps it (``order_dict``), ``status`` the route's eligibility."""
    plan = writes.add(
        TreatmentPlan(
            patient=evaluation.patient,
            clinic=evaluation.clinic,
            evaluation=evaluation,
            protocol_id=protocol.id,
            protocol_version=protocol.version,
            prescribed_dose=request.dose,
            dose_unit="mg/kg" if protocol.weight_based else "mg",
            use_adjusted_weight=request.use_adjusted_weight,
            vial_mg_per_ml=request.vial_mg_per_ml if protocol.weight_based else None,
            infusion_minutes=order["infusion_minutes"],
            dose_order=order,
            start_date=request.start_date,
            eligibility=status.verdict,
            override=status.override,
            created_by=actor.user,
            created_at=actor.now(),
        )
    )
    writes.record(
        actor,
        Action.CREATE,
        obj=plan,
        patient=plan.patient,
        changes={
            "protocol": f"{protocol.id} {protocol.version}",
            "dose": f"{request.dose} {plan.dose_unit}",
            "dose_order": plan.dose_order,
            "start_date": plan.start_date,
            "eligibility": status.verdict["verdict"],
            "override": status.override.pk if status.override else None,
        },
    )
    return plan


def sign_plan(
    actor: Actor, plan_id: int, password: str, consent_reason: str = "", code: str = ""
) -> TreatmentPlan:
    """Sign a draft plan: eligibility and dose are checked again (an addendum or a new weight
    may have changed them), and its induction sessions are scheduled.

    The patient's treatment consent comes first; without a current one the prescriber may
    still sign with a written ``consent_reason``, which the plan and its audit event keep."""
    confirm_signature(actor, password, code, prompt=PLAN_SIGNATURE)
    return _sign_plan(actor, plan_id, consent_reason)


@transaction.atomic
def _sign_plan(actor: Actor, plan_id: int, consent_reason: str) -> TreatmentPlan:
    # The evaluation first, as addenda and drafts lock it: an addendum committing meanwhile
    # cannot leave this plan signed on verdicts it no longer has.
    evaluation_id = TreatmentPlan.objects.values_list("evaluation_id", flat=True).get(
        pk=plan_id, clinic=actor.clinic
    )
    locked_evaluation(actor, evaluation_id)
    plan = TreatmentPlan.objects.select_for_update().get(pk=plan_id, clinic=actor.clinic)
    if plan.state != TreatmentPlan.State.DRAFT:
        raise PlanningError(f"This plan is {plan.get_state_display().lower()}, not a draft.")
    today = actor.today()
    if plan.start_date < today:
        raise PlanningError(
            f"The first session ({plan.start_date}) has passed. Draft the plan again with a new "
            "start date."
        )
    protocol = get_protocol(plan.protocol_id)
    if protocol.version != plan.protocol_version:
        raise PlanningError(
            f"The {protocol.name} protocol changed (version {plan.protocol_version} → "
            f"{protocol.version}) since this plan was drafted. Draft it again."
        )
    status = route_status(plan.evaluation, protocol.eligibility_route)
    if not status.usable:
        raise PlanningError(status.refusal())
    missing_consent = consent_problem(plan)
    consent_reason = consent_reason.strip() if missing_consent else ""
    if missing_consent and not consent_reason:
        raise PlanningError(
            f"{missing_consent} Record the patient's consent before signing, or write why the "
            "plan is signed without it."
        )
    request = PlanRequest(
        plan.protocol_id,
        plan.prescribed_dose,
        plan.start_date,
        plan.vial_mg_per_ml,
        plan.infusion_minutes,
        plan.use_adjusted_weight,
    )
    order = order_dict(
        dose_order(protocol, plan.patient, request, today), _latest_weight(plan.patient)
    )
    if _comparable(order) != _comparable(plan.dose_order):
        raise PlanningError(
            f"The dose works out differently today ({order['dose_mg']} mg, was "
            f"{plan.dose_order['dose_mg']} mg): the weight on record changed. Draft the plan again."
        )
    dates = proposed_schedule(plan)
    write_sign_plan(DATABASE, actor, plan, dates, status, missing_consent, consent_reason)
    return plan


def write_sign_plan(
    writes: Writes,
    actor: Actor,
    plan: TreatmentPlan,
    dates: list[date],
    status: RouteStatus,
    missing_consent: str | None = None,
    consent_reason: str = "",
) -> list[PlannedSession]:
    """What signing a plan writes, once it has been checked again (``sign_plan``): its
    induction sessions on ``dates``, and the signature over what was signed. Returns the
    sessions."""
    sessions = [
        writes.add(PlannedSession(plan=plan, number=n, date=d))
        for n, d in enumerate(dates, start=1)
    ]
    plan.signed_schedule = [d.isoformat() for d in dates]
    plan.eligibility, plan.override = status.verdict, status.override
    plan.state = TreatmentPlan.State.SIGNED
    plan.signed_by, plan.signed_at = actor.user, actor.now()
    plan.consent_reason = consent_reason
    plan.digest = plan_digest(plan)
    writes.save(plan, *_SIGNED_FIELDS)
    changes: dict[str, Any] = {"digest": plan.digest, "sessions": plan.signed_schedule}
    if consent_reason:
        changes["signed_without_consent"] = {"problem": missing_consent, "reason": consent_reason}
    writes.record(actor, Action.SIGN, obj=plan, patient=plan.patient, changes=changes)
    return sessions


_SIGNED_FIELDS = (
    "signed_schedule",
    "eligibility",
    "override",
    "state",
    "signed_by",
    "signed_at",
    "consent_reason",
    "digest",
)


@transaction.atomic
def discard_plan(actor: Actor, plan_id: int, reason: str) -> TreatmentPlan:
    """Set a draft aside (a weight changed, the start passed, another protocol is wanted), so
    that a new plan can be drafted under the evaluation. Kept, with the reason, not deleted."""
    plan = TreatmentPlan.objects.select_for_update().get(pk=plan_id, clinic=actor.clinic)
    if plan.state != TreatmentPlan.State.DRAFT:
        raise PlanningError("Only a draft plan can be discarded.")
    if not reason.strip():
        raise PlanningError("Write why the draft is discarded.")
    plan.state = TreatmentPlan.State.DISCARDED
    plan.discard_reason = reason.strip()
    plan.save(update_fields=["state", "discard_reason"])
    record(
        actor,
        Action.UPDATE,
        obj=plan,
        patient=plan.patient,
        changes={"state": {"old": "draft", "new": plan.state}, "reason": plan.discard_reason},
    )
    return plan
