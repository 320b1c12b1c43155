"""The digest a signed evaluation or plan keeps, so that what was signed can be re-verified
(GNU Health's signed documents do the same)."""

import hashlib
import json
from typing import Any

from ketacare.audit.chain import json_safe
from ketacare.planning.models import Evaluation, TreatmentPlan


def _digest(payload: dict[str, Any]) -> str:
    encoded = json.dumps(json_safe(payload), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def evaluation_digest(evaluation: Evaluation) -> str:
    return _digest(
        {
            "patient": evaluation.patient_id,
            "answers": evaluation.answers,
            "notes": evaluation.notes,
            "weight_kg": evaluation.weight_kg,
            "height_cm": evaluation.height_cm,
            "weight_measured_on": evaluation.weight_measured_on,
            "baseline_scores": evaluation.baseline_scores,
            "verdicts": evaluation.verdicts,
            "rules_version": evaluation.rules_version,
            "signed_by": evaluation.signed_by_id,
            "signed_at": evaluation.signed_at.isoformat() if evaluation.signed_at else None,
        }
    )


def plan_digest(plan: TreatmentPlan) -> str:
    # The consent reason is signed only where there is one, so that plans signed before it
    # existed (and every plan signed with consent) keep the digest they were signed with.
    consent = {"consent_reason": plan.consent_reason} if plan.consent_reason else {}
    return _digest(
        {
            **consent,
            "patient": plan.patient_id,
            "evaluation": plan.evaluation_id,
            "protocol": [plan.protocol_id, plan.protocol_version],
            "dose": [plan.prescribed_dose, plan.dose_unit, plan.use_adjusted_weight],
            "vial_mg_per_ml": plan.vial_mg_per_ml,
            "infusion_minutes": plan.infusion_minutes,
            "dose_order": plan.dose_order,
            "start_date": plan.start_date,
            "schedule": plan.signed_schedule,
            "eligibility": plan.eligibility,
            "override": plan.override_id,
            "signed_by": plan.signed_by_id,
            "signed_at": plan.signed_at.isoformat() if plan.signed_at else None,
        }
    )


def evaluation_intact(evaluation: Evaluation) -> bool:
    return evaluation.digest == evaluation_digest(evaluation)


def plan_intact(plan: TreatmentPlan) -> bool:
    return plan.digest == plan_digest(plan)
