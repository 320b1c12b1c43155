"""Read-only questions the planning pages ask: a clinic's evaluations and plans with whoever
the pages name, what waits for a prescriber, a patient's planning history, the answers the
record already holds, whether the patient consented, and a clinic rule's changes. Another
clinic's rows are never among the answers."""

from typing import Any

from django.db.models import Case, Prefetch, QuerySet, When

from ketacare.accounts.models import Clinic
from ketacare.clinical.protocols.library import get_protocol
from ketacare.measures.models import QuestionnaireResponse
from ketacare.patients.consent import treatment_consent_problem
from ketacare.patients.models import Patient
from ketacare.planning.models import (
    Evaluation,
    EvaluationAddendum,
    RulePolicyChange,
    TreatmentPlan,
)

# The most evaluations and plans the worklist shows of each.
WORKLIST_LIMIT = 50

# Screens the evaluation takes from the measures app when the patient has answered them.
AUDITC, DAST10 = "auditc", "dast10"


def evaluations_of(clinic: Clinic) -> QuerySet[Evaluation]:
    """The clinic's evaluations with their signers, addenda and overrides."""
    return (
        Evaluation.objects.filter(clinic=clinic)
        .select_related("patient", "signed_by", "completed_by")
        .prefetch_related(
            Prefetch("addenda", EvaluationAddendum.objects.select_related("author")),
            "overrides__prescriber",
        )
    )


def plans_of(clinic: Clinic) -> QuerySet[TreatmentPlan]:
    """The clinic's plans with their evaluation and everyone who drafted, signed or overrode."""
    return TreatmentPlan.objects.filter(clinic=clinic).select_related(
        "patient", "evaluation", "signed_by", "created_by", "override__prescriber"
    )


def evaluations_to_finish(clinic: Clinic) -> QuerySet[Evaluation]:
    """Evaluations not yet signed, most recently changed first."""
    return (
        Evaluation.objects.filter(clinic=clinic)
        .exclude(state=Evaluation.State.SIGNED)
        .select_related("patient")
        .order_by("-updated_at")[:WORKLIST_LIMIT]
    )


def recent_plans(clinic: Clinic) -> QuerySet[TreatmentPlan]:
    """Drafts first (they wait for a prescriber), then the newest plans."""
    return (
        TreatmentPlan.objects.filter(clinic=clinic)
        .select_related("patient", "signed_by")
        .order_by(Case(When(state=TreatmentPlan.State.DRAFT, then=0), default=1), "-created_at")[
            :WORKLIST_LIMIT
        ]
    )


def patient_evaluations(patient: Patient) -> QuerySet[Evaluation]:
    return patient.evaluations.select_related("signed_by").order_by("-created_at")


def patient_plans(patient: Patient) -> QuerySet[TreatmentPlan]:
    return patient.plans.select_related("signed_by").order_by("-created_at")


def evaluation_plans(evaluation: Evaluation) -> QuerySet[TreatmentPlan]:
    return evaluation.plans.select_related("signed_by").order_by("-created_at")


def has_weight(patient: Patient) -> bool:
    """Whether the chart holds a weight (completing an evaluation and dosing take it)."""
    return patient.measurements.exists()


def rule_history(clinic: Clinic, rule_id: str) -> list[RulePolicyChange]:
    """The clinic's changes to one policy rule, newest first."""
    return list(
        RulePolicyChange.objects.filter(clinic=clinic, rule_id=rule_id)
        .select_related("author")
        .order_by("-created_at", "-id")
    )


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


def consent_problem(plan: TreatmentPlan) -> str | None:
    """Why the patient has no current consent to treatment with the plan's drug, or None.

    The one answer for the plan page, its signature and every other path that signs; the
    dosing day asks the same question of ``patients.consent`` at check-in."""
    return treatment_consent_problem(plan.patient, get_protocol(plan.protocol_id).drug)
