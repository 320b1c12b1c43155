"""Every change to evaluations, eligibility decisions and plans. Each runs in one transaction
with its audit event; a refusal raises PlanningError and writes nothing."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from ketacare.accounts.access import Actor
from ketacare.accounts.permissions import allowed
from ketacare.accounts.reauth import SignatureRefused, reauthenticate_actor
from ketacare.audit.record import Action, field_changes, record
from ketacare.bounds import date_problem
from ketacare.clinical.datafiles import load
from ketacare.clinical.eligibility import (
    OVERRIDABLE,
    SEVERITY,
    EvaluationError,
    OverrideError,
    RouteVerdict,
    RuleError,
    apply_override,
    evaluate,
    load_rules,
)
from ketacare.clinical.eligibility import (
    Evaluation as ClinicalEvaluation,
)
from ketacare.clinical.measurements import age_in_years
from ketacare.clinical.protocols import DoseOrder, DoseRefused, calculate_dose
from ketacare.clinical.protocols.library import Protocol, get_protocol
from ketacare.clinical.protocols.schedule import ScheduleError, induction_schedule, reschedule
from ketacare.measures.models import QuestionnaireResponse
from ketacare.patients.consent import treatment_consent_problem
from ketacare.patients.models import BodyMeasurement, Patient
from ketacare.planning.answers import (
    CHOICE_LABELS,
    LABELS,
    ROUTE_LABELS,
    apply_changes,
    entered_paths,
    name_fields,
    nest,
)
from ketacare.planning.models import (
    EligibilityOverride,
    Evaluation,
    EvaluationAddendum,
    PlannedSession,
    RulePolicyChange,
    TreatmentPlan,
)
from ketacare.planning.rule_policy import clinic_overrides, clinic_rules
from ketacare.planning.signature import evaluation_digest, plan_digest
from ketacare.refusals import ActionRefused

# Screens the evaluation takes from the measures app when the patient has answered them.
AUDITC, DAST10 = "auditc", "dast10"


class PlanningError(ActionRefused):
    """A refused change; the message says why and what to do. Nothing was written."""


# --- reading ----------------------------------------------------------------------------------


def effective_answers(evaluation: Evaluation) -> dict[str, Any]:
    """The answers with every addendum's changes applied."""
    return apply_changes(evaluation.answers, (a.changes for a in evaluation.addenda.all()))


def effective_verdicts(evaluation: Evaluation) -> dict[str, Any]:
    """The verdicts of the last addendum that changed answers, else those signed."""
    for addendum in reversed(list(evaluation.addenda.all())):
        if addendum.verdicts:
            return dict(addendum.verdicts)
    return dict(evaluation.verdicts)


@dataclass(frozen=True)
class RouteStatus:
    """Whether a plan may use a route: its verdict, and the override that covers it."""

    route: str
    verdict: dict[str, Any]
    override: EligibilityOverride | None

    @property
    def blocking_rule_ids(self) -> list[str]:
        return [f["id"] for f in self.verdict["fired"] if f["verdict"] in OVERRIDABLE]

    @property
    def usable(self) -> bool:
        return not self.blocking_rule_ids or self.override is not None

    def refusal(self) -> str:
        """Why a plan cannot use the route, in the rules' own words (their ids are kept in
        the verdict and the audit trail, not shown)."""
        rules = " ".join(
            f["rationale"] for f in self.verdict["fired"] if f["verdict"] in OVERRIDABLE
        )
        return (
            f"The eligibility rules give “{self.verdict['verdict'].replace('_', ' ')}” for "
            f"{ROUTE_LABELS[self.route]}: {rules} A prescriber's override with a written "
            "reason is needed before a plan can use this route."
        )


def route_status(evaluation: Evaluation, route: str) -> RouteStatus:
    verdict = effective_verdicts(evaluation)[route]
    blocking = {f["id"] for f in verdict["fired"] if f["verdict"] in OVERRIDABLE}
    override = None
    if blocking:
        # An override covers the rules that had fired when it was given, not later ones.
        override = next(
            (
                o
                for o in evaluation.overrides.all()
                if o.route == route and blocking <= set(o.fired_rule_ids)
            ),
            None,
        )
    return RouteStatus(route, verdict, override)


# --- evaluation -------------------------------------------------------------------------------


def suggested_answers(patient: Patient) -> dict[str, Any]:
    """Answers the record already holds: the latest AUDIT-C and DAST-10 from the measures."""
    answers: dict[str, Any] = {}
    latest = {
        r.instrument_id: r
        for r in QuestionnaireResponse.objects.filter(
            patient=patient, instrument_id__in=(AUDITC, DAST10)
        ).order_by("completed_at")
    }
    if AUDITC in latest:
        answers["screening.auditc_positive"] = "positive_screen" in latest[AUDITC].flags
    if DAST10 in latest and latest[DAST10].total is not None:
        answers["screening.dast10_score"] = latest[DAST10].total
    return answers


@transaction.atomic
def start_evaluation(
    actor: Actor, patient: Patient, answers: dict[str, Any], notes: str
) -> Evaluation:
    now = actor.now()
    evaluation = Evaluation.objects.create(
        patient=patient,
        clinic=patient.clinic,
        answers=answers,
        notes=notes,
        created_by=actor.user,
        created_at=now,
        updated_at=now,
    )
    record(
        actor,
        Action.CREATE,
        obj=evaluation,
        patient=patient,
        changes=field_changes({}, {**answers, "notes": notes}),
    )
    return evaluation


def _locked_evaluation(actor: Actor, evaluation_id: int) -> Evaluation:
    return Evaluation.objects.select_for_update().get(pk=evaluation_id, clinic=actor.clinic)


@transaction.atomic
def save_evaluation(
    actor: Actor, evaluation_id: int, answers: dict[str, Any], notes: str, opened_version: str
) -> dict[str, Any]:
    """Store edited answers; returns the changes. A completed evaluation goes back to in
    progress, because what was completed is no longer what it says."""
    evaluation = _locked_evaluation(actor, evaluation_id)
    if evaluation.is_signed:
        raise PlanningError(
            "This evaluation is signed and can no longer be edited. Add an addendum instead."
        )
    if evaluation.version != opened_version:
        raise PlanningError(
            "Someone else saved this evaluation after you opened it. Your changes were not "
            "saved: reload the page to see theirs, then make your changes again."
        )
    before = {**evaluation.answers, "notes": evaluation.notes}
    after = {**answers, "notes": notes}
    changes = field_changes(before, after)
    changes.update({path: {"old": before[path], "new": None} for path in before.keys() - after})
    if not changes:
        return {}
    evaluation.answers, evaluation.notes = answers, notes
    if evaluation.state == Evaluation.State.COMPLETED:
        changes["state"] = {"old": evaluation.state, "new": Evaluation.State.IN_PROGRESS}
        evaluation.state = Evaluation.State.IN_PROGRESS
        evaluation.verdicts, evaluation.completed_at, evaluation.completed_by = {}, None, None
    evaluation.updated_at = actor.now()  # a new version: an edit opened before now conflicts
    evaluation.save()
    record(actor, Action.UPDATE, obj=evaluation, patient=evaluation.patient, changes=changes)
    return changes


def _readable(message: str) -> str:
    """An error from the clinical code as staff read it: field paths named as the form names
    them, and a capital letter."""
    message = name_fields(message)
    return message[:1].upper() + message[1:]


def evaluation_day(evaluation: Evaluation, today: date) -> date:
    """The day an evaluation speaks for: the day it was last completed, ``today`` until then.

    Derived answers are taken on this day, so a signature or an addendum after the patient's
    birthday judges the evaluation as it was completed, not as a different one."""
    if evaluation.completed_at is None:
        return today
    return timezone.localdate(evaluation.completed_at)


def derived_answers(patient: Patient, day: date) -> dict[str, Any]:
    """The answers taken from the patient's record on ``day`` rather than typed, so that no
    evaluator can leave them out: the age from the date of birth."""
    return {"age_years": age_in_years(patient.date_of_birth, day)}


def judged_answers(evaluation: Evaluation, today: date) -> dict[str, Any]:
    """What the rules read: the effective answers and those derived from the record."""
    return {
        **effective_answers(evaluation),
        **derived_answers(evaluation.patient, evaluation_day(evaluation, today)),
    }


def _judge(answers: dict[str, Any], patient: Patient, day: date) -> tuple[dict[str, Any], str]:
    """The verdicts for complete answers on the evaluation day, and the rules version they
    came from."""
    unanswered = [LABELS[path] for path in entered_paths() if path not in answers]
    if unanswered:
        raise PlanningError(f"Not answered yet: {', '.join(unanswered)}.")
    # The record wins over any stored answer for a derived field.
    data = nest({**answers, **derived_answers(patient, day)})
    try:
        clinical = ClinicalEvaluation.from_dict(data)
    except EvaluationError as error:
        raise PlanningError(_readable(str(error))) from None
    rules = clinic_rules(patient.clinic)
    verdicts = {route: v.as_dict() for route, v in evaluate(clinical, rules).items()}
    return verdicts, rules.version


def _baseline_scores(patient: Patient) -> list[dict[str, Any]]:
    latest: dict[str, QuestionnaireResponse] = {}
    for response in QuestionnaireResponse.objects.filter(patient=patient).order_by("completed_at"):
        latest[response.instrument_id] = response
    return [
        {
            "instrument": r.instrument_id,
            "total": r.total,
            "severity": r.severity,
            "completed_at": r.completed_at.isoformat(),
            "response_id": r.pk,
        }
        for r in sorted(latest.values(), key=lambda r: r.instrument_id)
    ]


@transaction.atomic
def complete_evaluation(actor: Actor, evaluation_id: int) -> Evaluation:
    """Check every answer, take the latest weight and questionnaire scores, and judge."""
    evaluation = _locked_evaluation(actor, evaluation_id)
    if evaluation.is_signed:
        raise PlanningError("This evaluation is already signed.")
    previous_state = evaluation.state
    patient = evaluation.patient
    now = actor.now()
    verdicts, rules_version = _judge(evaluation.answers, patient, timezone.localdate(now))
    measurement = BodyMeasurement.objects.filter(patient=patient).first()
    if measurement is None:
        raise PlanningError("Record the patient's weight before completing the evaluation.")
    evaluation.weight_kg = measurement.weight_kg
    evaluation.weight_measured_on = measurement.measured_on
    evaluation.height_cm = next(
        (m.height_cm for m in BodyMeasurement.objects.filter(patient=patient) if m.height_cm),
        None,
    )
    evaluation.baseline_scores = _baseline_scores(patient)
    evaluation.verdicts, evaluation.rules_version = verdicts, rules_version
    evaluation.state = Evaluation.State.COMPLETED
    evaluation.completed_by, evaluation.completed_at = actor.user, now
    evaluation.updated_at = now
    evaluation.save()
    record(
        actor,
        Action.UPDATE,
        obj=evaluation,
        patient=patient,
        changes={
            "state": {"old": previous_state, "new": evaluation.state},
            "verdicts": {route: v["verdict"] for route, v in verdicts.items()},
        },
    )
    return evaluation


# The prompts' names in the audit trail of a refused signature.
EVALUATION_SIGNATURE = "evaluation signature"
OVERRIDE_SIGNATURE = "eligibility override"
PLAN_SIGNATURE = "plan signature"


def confirm_signature(actor: Actor, password: str, code: str = "", *, prompt: str) -> None:
    """The signer's own password (and authenticator code), checked as at sign-in
    (``accounts.reauth``). Called before the action's transaction opens, so that a refusal's
    audit event and lock-out count are kept."""
    try:
        reauthenticate_actor(actor, password, code, prompt=prompt)
    except SignatureRefused as refused:
        raise PlanningError(str(refused)) from None


def sign_evaluation(actor: Actor, evaluation_id: int, password: str, code: str = "") -> Evaluation:
    """Sign a completed evaluation: it is judged again against the rules in force now, and
    from then on it is read-only."""
    confirm_signature(actor, password, code, prompt=EVALUATION_SIGNATURE)
    return _sign_evaluation(actor, evaluation_id)


@transaction.atomic
def _sign_evaluation(actor: Actor, evaluation_id: int) -> Evaluation:
    evaluation = _locked_evaluation(actor, evaluation_id)
    if evaluation.state != Evaluation.State.COMPLETED:
        raise PlanningError(
            "Only a completed evaluation can be signed; this one is "
            f"{evaluation.get_state_display().lower()}."
        )
    verdicts, rules_version = _judge(
        evaluation.answers, evaluation.patient, evaluation_day(evaluation, actor.today())
    )
    if verdicts != evaluation.verdicts:
        raise PlanningError(
            "The eligibility rules give different verdicts now than when this evaluation was "
            "completed (a clinic rule or the patient's record changed). Complete it again to "
            "see them, then sign."
        )
    evaluation.rules_version = rules_version
    evaluation.state = Evaluation.State.SIGNED
    evaluation.signed_by, evaluation.signed_at = actor.user, actor.now()
    evaluation.updated_at = evaluation.signed_at
    evaluation.digest = evaluation_digest(evaluation)
    evaluation.save()
    record(
        actor,
        Action.SIGN,
        obj=evaluation,
        patient=evaluation.patient,
        changes={
            "digest": evaluation.digest,
            "verdicts": {route: v["verdict"] for route, v in verdicts.items()},
        },
    )
    return evaluation


@transaction.atomic
def add_addendum(
    actor: Actor,
    evaluation_id: int,
    note: str,
    answers: dict[str, Any],
    opened_addenda: int | None = None,
) -> EvaluationAddendum:
    """Amend a signed evaluation. Changed answers are judged again; the verdicts of the last
    addendum that changed answers are the ones plans use.

    ``opened_addenda`` is how many addenda the form showed when it was opened: if another was
    added since, the form's answers are stale and would silently undo it, so it is refused.
    Only a prescriber may make a verdict less severe (clear a finding)."""
    evaluation = _locked_evaluation(actor, evaluation_id)
    if not evaluation.is_signed:
        raise PlanningError("Only a signed evaluation takes addenda; edit this one instead.")
    if opened_addenda is not None and evaluation.addenda.count() != opened_addenda:
        raise PlanningError(
            "Someone added an addendum after you opened this form. Nothing was saved: reload "
            "the page to see it, then add yours."
        )
    if not note.strip():
        raise PlanningError("Write what the addendum adds or corrects.")
    current = effective_answers(evaluation)
    changes = field_changes(current, answers)
    cleared = [LABELS[path] for path in current.keys() - answers.keys()]
    if cleared:
        raise PlanningError(f"An addendum cannot leave answers blank: {', '.join(cleared)}.")
    verdicts: dict[str, Any] = {}
    if changes:
        day = evaluation_day(evaluation, actor.today())
        verdicts, _ = _judge({**current, **answers}, evaluation.patient, day)
        before = effective_verdicts(evaluation)
        eased = [
            route
            for route, verdict in verdicts.items()
            if SEVERITY.index(verdict["verdict"]) < SEVERITY.index(before[route]["verdict"])
        ]
        if eased and not allowed(actor.role, "planning.sign"):
            raise PlanningError(
                "These changes make the verdict less severe for "
                f"{', '.join(r.replace('_', ' ') for r in eased)}: only a prescriber may "
                "clear a finding."
            )
    addendum = EvaluationAddendum.objects.create(
        evaluation=evaluation,
        note=note.strip(),
        changes=changes,
        verdicts=verdicts,
        author=actor.user,
        created_at=actor.now(),
    )
    record(
        actor,
        Action.CREATE,
        obj=addendum,
        patient=evaluation.patient,
        changes={"note": addendum.note, "answers": changes},
    )
    return addendum


def override_eligibility(
    actor: Actor, evaluation_id: int, route: str, reason: str, password: str, code: str = ""
) -> EligibilityOverride:
    """A prescriber's decision to treat by a route the rules exclude or hold for clearance."""
    confirm_signature(actor, password, code, prompt=OVERRIDE_SIGNATURE)
    return _override_eligibility(actor, evaluation_id, route, reason)


@transaction.atomic
def _override_eligibility(
    actor: Actor, evaluation_id: int, route: str, reason: str
) -> EligibilityOverride:
    evaluation = _locked_evaluation(actor, evaluation_id)
    if not evaluation.is_signed:
        raise PlanningError("Sign the evaluation before overriding its eligibility verdicts.")
    verdicts = effective_verdicts(evaluation)
    if route not in verdicts:
        raise PlanningError(f"Unknown route {route!r}.")
    status = route_status(evaluation, route)
    if status.override is not None:
        raise PlanningError(
            f"{ROUTE_LABELS[route]} is already overridden by "
            f"{status.override.prescriber.get_username()}."
        )
    try:
        # The clinical rule decides what may be overridden and that a reason is required.
        apply_override(
            RouteVerdict(route, status.verdict["verdict"], fired=()),
            reason,
            actor.username,
        )
    except OverrideError as error:
        raise PlanningError(str(error)[0].upper() + str(error)[1:] + ".") from None
    override = EligibilityOverride.objects.create(
        evaluation=evaluation,
        route=route,
        original_verdict=status.verdict["verdict"],
        fired_rule_ids=status.blocking_rule_ids,
        reason=reason.strip(),
        prescriber=actor.user,
        created_at=actor.now(),
    )
    record(
        actor,
        Action.OVERRIDE,
        obj=override,
        patient=evaluation.patient,
        changes={
            "route": route,
            "original_verdict": override.original_verdict,
            "rules": override.fired_rule_ids,
            "reason": override.reason,
        },
    )
    return override


# --- treatment plan ---------------------------------------------------------------------------


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
    try:
        if not protocol.weight_based:
            return calculate_dose(protocol, fixed_mg=request.dose)
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
        return calculate_dose(
            protocol,
            mg_per_kg=request.dose,
            weight_kg=measurement.weight_kg,
            weight_measured_on=measurement.measured_on,
            today=today,
            height_cm=height,
            sex=patient.sex_at_birth,
            use_adjusted_weight=request.use_adjusted_weight,
            vial_mg_per_ml=request.vial_mg_per_ml,
            infusion_minutes=request.infusion_minutes,
        )
    except DoseRefused as refusal:
        # The limit's id stays with the calculator (its CLI and tests); staff read the reason.
        raise PlanningError(str(refusal).removesuffix(f" [rule: {refusal.rule}]")) from None


def _order_dict(order: DoseOrder, patient: Patient) -> dict[str, Any]:
    # The actual weight too: the PK models scale by it even when the dose used an adjusted one.
    latest = BodyMeasurement.objects.filter(patient=patient).first()
    return {
        "dose_mg": str(order.dose_mg),
        "actual_weight_kg": str(latest.weight_kg) if latest else None,
        "weight_used_kg": None if order.weight_used_kg is None else str(order.weight_used_kg),
        "weight_basis": order.weight_basis,
        "volume_ml": None if order.volume_ml is None else str(order.volume_ml),
        "vial_mg_per_ml": None if order.vial_mg_per_ml is None else str(order.vial_mg_per_ml),
        "infusion_minutes": order.infusion_minutes,
        "rate_ml_per_h": None if order.rate_ml_per_h is None else str(order.rate_ml_per_h),
        "devices": order.devices,
    }


def _comparable(order: dict[str, Any]) -> dict[str, Any]:
    """The order with numbers as Decimals: "50" and "50.0" mg/mL are the same vial."""
    return {
        key: Decimal(value) if isinstance(value, str) and key != "weight_basis" else value
        for key, value in order.items()
    }


def proposed_schedule(plan: TreatmentPlan) -> list[date]:
    try:
        return induction_schedule(
            get_protocol(plan.protocol_id), plan.start_date, plan.clinic.weekdays
        )
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
    _within_bounds(request.start_date, today, "The first session's date")
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
    plan = TreatmentPlan(
        patient=evaluation.patient,
        clinic=evaluation.clinic,
        evaluation=evaluation,
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        prescribed_dose=request.dose,
        dose_unit="mg/kg" if protocol.weight_based else "mg",
        use_adjusted_weight=request.use_adjusted_weight,
        vial_mg_per_ml=request.vial_mg_per_ml if protocol.weight_based else None,
        infusion_minutes=order.infusion_minutes,
        dose_order=_order_dict(order, evaluation.patient),
        start_date=request.start_date,
        eligibility=status.verdict,
        override=status.override,
        created_by=actor.user,
        created_at=actor.now(),
    )
    proposed_schedule(plan)  # refuse now a start that cannot be scheduled
    plan.save()
    record(
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


def consent_problem(plan: TreatmentPlan) -> str | None:
    """Why the patient has no current consent to treatment with the plan's drug, or None.

    The one answer for the plan page, its signature and every other path that signs; the
    dosing day asks the same question of ``patients.consent`` at check-in."""
    return treatment_consent_problem(plan.patient, get_protocol(plan.protocol_id).drug)


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
    _locked_evaluation(actor, evaluation_id)
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
    order = _order_dict(dose_order(protocol, plan.patient, request, today), plan.patient)
    if _comparable(order) != _comparable(plan.dose_order):
        raise PlanningError(
            f"The dose works out differently today ({order['dose_mg']} mg, was "
            f"{plan.dose_order['dose_mg']} mg): the weight on record changed. Draft the plan again."
        )
    dates = proposed_schedule(plan)
    PlannedSession.objects.bulk_create(
        PlannedSession(plan=plan, number=n, date=d) for n, d in enumerate(dates, start=1)
    )
    plan.signed_schedule = [d.isoformat() for d in dates]
    plan.eligibility, plan.override = status.verdict, status.override
    plan.state = TreatmentPlan.State.SIGNED
    plan.signed_by, plan.signed_at = actor.user, actor.now()
    plan.consent_reason = consent_reason
    plan.digest = plan_digest(plan)
    plan.save()
    changes: dict[str, Any] = {"digest": plan.digest, "sessions": plan.signed_schedule}
    if consent_reason:
        changes["signed_without_consent"] = {"problem": missing_consent, "reason": consent_reason}
    record(actor, Action.SIGN, obj=plan, patient=plan.patient, changes=changes)
    return plan


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


def _within_bounds(day: date, today: date, what: str) -> None:
    problem = date_problem(day, today, what)
    if problem:
        raise PlanningError(problem)


@transaction.atomic
def reschedule_session(actor: Actor, plan_id: int, number: int, new_date: date) -> dict[str, Any]:
    """Move one session; the later ones re-flow to keep the protocol's spacing. Returns the
    moves as {"session N": {"old": date, "new": date}}."""
    plan = TreatmentPlan.objects.select_for_update().get(pk=plan_id, clinic=actor.clinic)
    if not plan.is_signed:
        raise PlanningError("Sessions are scheduled when the plan is signed.")
    sessions = list(plan.sessions.order_by("number"))
    if not 1 <= number <= len(sessions):
        raise PlanningError(f"This plan has no session {number}.")
    today = actor.today()
    on_board = [s.number for s in sessions[number - 1 :] if hasattr(s, "treatment")]
    if on_board:
        raise PlanningError(
            f"Session {on_board[0]} is already on the chair board; cancel it there first."
        )
    if sessions[number - 1].date < today:
        raise PlanningError(f"Session {number} was on {sessions[number - 1].date}; it cannot move.")
    _within_bounds(new_date, today, "The new date")
    if new_date < today:
        raise PlanningError(f"{new_date} is in the past.")
    try:
        dates = reschedule(
            [s.date for s in sessions],
            number - 1,
            new_date,
            get_protocol(plan.protocol_id),
            plan.clinic.weekdays,
        )
    except ScheduleError as error:
        raise PlanningError(str(error)) from None
    moves = {}
    for session, moved in zip(sessions, dates, strict=True):
        if session.date != moved:
            moves[f"session {session.number}"] = {"old": session.date, "new": moved}
            session.date = moved
            session.save(update_fields=["date"])
    if moves:
        record(actor, Action.UPDATE, obj=plan, patient=plan.patient, changes=moves)
    return moves


# --- clinic policy ----------------------------------------------------------------------------


@transaction.atomic
def change_rule_policy(
    actor: Actor, rule_id: str, change: dict[str, Any], reason: str
) -> RulePolicyChange:
    """Disable a clinic-policy rule, change its thresholds, or restore it (``change={}``) for
    the actor's clinic. Label rules cannot be changed. Evaluations signed before keep the
    verdicts they were signed with; later ones are judged by the new rule."""
    assert actor.clinic is not None
    if not reason.strip():
        raise PlanningError("Write the reason for changing the clinic's rule.")
    current = clinic_overrides(actor.clinic)
    if change == current.get(rule_id, {}):
        raise PlanningError("This rule already works that way here; nothing to change.")
    try:
        # The clinical loader refuses label rules, unknown rules and implausible thresholds.
        load_rules({k: v for k, v in {**current, rule_id: change}.items() if v})
    except RuleError as error:
        # Said of the rule on the page, without its id: "…: vitals.systolic threshold 900 is
        # outside…" → "Systolic BP (mmHg) threshold 900 is outside…".
        message = str(error).replace(f"clinic override of {rule_id}: ", "")
        message = message.replace("clinic override: ", "").replace(f"rule {rule_id}", "this rule")
        raise PlanningError(_readable(message)) from None
    policy_change = RulePolicyChange.objects.create(
        clinic=actor.clinic,
        rule_id=rule_id,
        change=change,
        reason=reason.strip(),
        author=actor.user,
        created_at=actor.now(),
    )
    record(
        actor,
        Action.UPDATE,
        obj=policy_change,
        object_type="eligibility_rule",
        changes={
            "rule": rule_id,
            "change": {"old": current.get(rule_id, {}), "new": change},
            "reason": policy_change.reason,
        },
    )
    return policy_change
