"""The demo clinic's planning work: evaluations, eligibility decisions and treatment plans,
each a case that shows one thing (a clear IV plan, a titration, esketamine, an override, an
addendum, a plan awaiting signature, an evaluation in progress), through the actions."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from ketacare.accounts.models import Clinic, User
from ketacare.accounts.permissions import Role
from ketacare.actor import Actor
from ketacare.clinical.datafiles import load
from ketacare.clinical.protocols.schedule import WEEKDAYS
from ketacare.patients import actions as patient_actions
from ketacare.patients.models import ConsentRecord, Patient
from ketacare.planning import actions as planning_actions
from ketacare.planning.actions import PlanRequest
from ketacare.planning.models import Evaluation

# --- Planning: evaluations, eligibility decisions and treatment plans ----------------------

# The evaluation of a patient whom no eligibility rule flags; each demo case changes a few
# answers. Every field is answered, so it can be completed and signed.
CLEAR_EVALUATION: dict[str, Any] = {
    "indication": "trd",
    "adequate_antidepressant_trials": 3,
    "psychiatric.psychosis": False,
    "psychiatric.mania_or_bipolar": False,
    "psychiatric.substance_use_disorder": False,
    "psychiatric.substances": [],
    "psychiatric.prior_ketamine_or_pcp_misuse": False,
    "medical.uncontrolled_hypertension": False,
    "medical.aneurysmal_vascular_disease": False,
    "medical.arteriovenous_malformation": False,
    "medical.intracerebral_haemorrhage_history": False,
    "medical.recent_mi_or_stroke": False,
    "medical.severe_cardiac_disease": False,
    "medical.severe_hepatic_disease": False,
    "medical.raised_intracranial_or_intraocular_pressure": False,
    "medical.pregnant_or_breastfeeding": False,
    "medical.hypersensitivity_to_ketamine_or_esketamine": False,
    "medications.benzodiazepines": False,
    "medications.non_benzodiazepine_hypnotics": False,
    "medications.psychostimulants": False,
    "medications.maois": False,
    "medications.opioids": False,
    "medications.lamotrigine": False,
    "vitals.systolic": 124,
    "vitals.diastolic": 78,
    "vitals.heart_rate": 72,
    "screening.auditc_positive": False,
    "screening.dast10_score": 0,
    "screening.urine_toxicology": "not_indicated",
}


@dataclass(frozen=True)
class Planners:
    """Who does the planning work, as in the clinic: the nurse fills in evaluations and
    weighs the patient; the prescriber signs, overrides and writes plans."""

    nurse: Actor
    prescriber: Actor
    password: str  # the prescriber's, for the signatures


def _planners(clinic: Clinic, password: str) -> Planners:
    def member(role: Role) -> Actor:
        user = User.objects.filter(memberships__clinic=clinic, memberships__role=role).first()
        return Actor(user=user, role=role.value, clinic=clinic, ip="127.0.0.1")

    return Planners(member(Role.NURSE), member(Role.PRESCRIBER), password)


def _next_clinic_day(after: date) -> date:
    """The first clinic day after ``after``: draft and sign refuse a start in the past."""
    day = after + timedelta(days=1)
    while day.weekday() not in WEEKDAYS:
        day += timedelta(days=1)
    return day


def _weigh_if_stale(planners: Planners, patient: Patient) -> None:
    """Weigh the patient at the evaluation visit when the weight on record is too old to dose
    from (the dose policy's limit); otherwise the plan would be refused."""
    today = timezone.localdate()
    max_age = int(str(load("dose_policy")["weight_max_age_days"]))
    latest = patient.measurements.first()
    # No weight at all cannot happen: only patients with one are chosen (_seed_planning).
    if latest is None or (today - latest.measured_on).days <= max_age:
        return
    # The same weight, newly measured: the demo patient's weight has not changed.
    patient_actions.record_measurement(planners.nurse, patient, today, latest.weight_kg, None)


def _completed_evaluation(
    planners: Planners, patient: Patient, changes: dict[str, Any], notes: str
) -> Evaluation:
    _weigh_if_stale(planners, patient)
    evaluation = planning_actions.start_evaluation(
        planners.nurse, patient, {**CLEAR_EVALUATION, **changes}, notes
    )
    return planning_actions.complete_evaluation(planners.nurse, evaluation.pk)


def _signed_evaluation(
    planners: Planners, patient: Patient, changes: dict[str, Any], notes: str
) -> Evaluation:
    evaluation = _completed_evaluation(planners, patient, changes, notes)
    return planning_actions.sign_evaluation(planners.prescriber, evaluation.pk, planners.password)


def _iv_plan(start: date, mg_per_kg: str) -> PlanRequest:
    return PlanRequest(
        protocol_id="iv_ketamine",
        dose=Decimal(mg_per_kg),
        start_date=start,
        vial_mg_per_ml=Decimal("10"),
        infusion_minutes=40,
    )


def _signed_plan(planners: Planners, evaluation: Evaluation, request: PlanRequest) -> None:
    plan = planning_actions.draft_plan(planners.prescriber, evaluation.pk, request)
    planning_actions.sign_plan(planners.prescriber, plan.pk, planners.password)


def _case_iv(planners: Planners, patient: Patient, start: date) -> None:
    """Eligible for every route: IV ketamine at the usual starting dose."""
    evaluation = _signed_evaluation(planners, patient, {}, "")
    _signed_plan(planners, evaluation, _iv_plan(start, "0.5"))


def _case_iv_titrated(planners: Planners, patient: Patient, start: date) -> None:
    """A partial response to 0.5 mg/kg elsewhere: the plan starts at the first titration step."""
    evaluation = _signed_evaluation(
        planners,
        patient,
        {
            "adequate_antidepressant_trials": 4,
            "vitals.systolic": 132,
            "vitals.diastolic": 84,
            "vitals.heart_rate": 80,
        },
        "Six IV infusions of 0.5 mg/kg at another clinic in 2025: partial response that faded "
        "within three weeks.",
    )
    _signed_plan(planners, evaluation, _iv_plan(start, "0.75"))


def _case_esketamine(planners: Planners, patient: Patient, start: date) -> None:
    """Intranasal esketamine at the label's first dose."""
    evaluation = _signed_evaluation(
        planners,
        patient,
        {"adequate_antidepressant_trials": 2, "vitals.systolic": 118, "vitals.diastolic": 74},
        "Prefers intranasal treatment; enrolled in the esketamine REMS.",
    )
    # Every demo patient consented to ketamine at registration; esketamine needs its own,
    # and the REMS enrolment before the first dose (the appointment book asks for it).
    for kind in (ConsentRecord.Kind.TREATMENT_ESKETAMINE, ConsentRecord.Kind.REMS_ENROLLMENT):
        patient_actions.record_consent(
            planners.nurse,
            patient,
            {
                "kind": kind,
                "decision": ConsentRecord.Decision.GRANTED,
                "version": "2026-01",
                "signed_at": timezone.now(),
                "signed_by": patient.full_name,
            },
        )
    request = PlanRequest(protocol_id="esketamine_trd", dose=Decimal("56"), start_date=start)
    _signed_plan(planners, evaluation, request)


def _case_override(planners: Planners, patient: Patient, start: date) -> None:
    """An aneurysm: the esketamine label excludes it; for IV ketamine the clinic asks for a
    specialist's clearance, which the prescriber records as an override before planning."""
    evaluation = _signed_evaluation(
        planners,
        patient,
        {"medical.aneurysmal_vascular_disease": True, "vitals.systolic": 128},
        "Infrarenal abdominal aortic aneurysm, 3.1 cm, on annual ultrasound surveillance.",
    )
    cleared_on = timezone.localdate() - timedelta(days=12)
    planning_actions.override_eligibility(
        planners.prescriber,
        evaluation.pk,
        "iv_ketamine",
        f"Vascular surgery cleared on {cleared_on:%Y-%m-%d}: stable 3.1 cm AAA, BP controlled "
        "on amlodipine. Hold the infusion if BP exceeds 160/100 before or during it.",
        planners.password,
    )
    _signed_plan(planners, evaluation, _iv_plan(start, "0.5"))


def _case_addendum_and_draft(planners: Planners, patient: Patient, start: date) -> None:
    """A benzodiazepine disclosed after signing: an addendum, and a plan awaiting signature."""
    evaluation = _signed_evaluation(planners, patient, {"vitals.heart_rate": 68}, "")
    planning_actions.add_addendum(
        planners.prescriber,
        evaluation.pk,
        "Disclosed lorazepam 0.5 mg as needed for sleep, about twice a week. Advised to skip it "
        "the evening before each infusion.",
        {**planning_actions.effective_answers(evaluation), "medications.benzodiazepines": True},
    )
    planning_actions.draft_plan(planners.prescriber, evaluation.pk, _iv_plan(start, "0.5"))


def _case_awaiting_signature(planners: Planners, patient: Patient, start: date) -> None:
    """Completed by the nurse: on the prescriber's worklist to sign."""
    _completed_evaluation(
        planners, patient, {"vitals.systolic": 136, "vitals.diastolic": 86}, "Seen with partner."
    )


def _case_in_progress(planners: Planners, patient: Patient, start: date) -> None:
    """Started at intake: vital signs and screening wait for the next visit."""
    answers = {
        path: value
        for path, value in CLEAR_EVALUATION.items()
        if not path.startswith(("vitals.", "screening."))
    }
    planning_actions.start_evaluation(
        planners.nurse, patient, answers, "Vitals and substance-use screening at the next visit."
    )


PlanningCase = Callable[[Planners, Patient, date], None]
# Most telling first: a demo clinic with fewer patients than cases gets the first ones only.
PLANNING_CASES: list[PlanningCase] = [
    _case_iv,
    _case_esketamine,
    _case_override,
    _case_iv_titrated,
    _case_addendum_and_draft,
    _case_awaiting_signature,
    _case_in_progress,
]


def seed_planning(clinic: Clinic, password: str) -> None:
    planners = _planners(clinic, password)
    today = timezone.localdate()
    # By MRN, so the same patients are chosen on every run; a weight is needed to dose.
    patients = (
        Patient.objects.filter(clinic=clinic, measurements__isnull=False)
        .distinct()
        .order_by("mrn")[: len(PLANNING_CASES)]
    )
    for n, (case, patient) in enumerate(zip(PLANNING_CASES, patients, strict=False)):
        # Starts a day apart, so the induction calendar is not one crowded week.
        case(planners, patient, _next_clinic_day(today + timedelta(days=n)))
