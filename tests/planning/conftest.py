"""An evaluation with every answer given (nothing fires), and helpers to walk it to signed."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ketacare.accounts.permissions import Role
from ketacare.clinical.eligibility import load_rules
from ketacare.patients import actions as patient_actions
from ketacare.planning import actions
from ketacare.planning.actions import PlanRequest
from ketacare.web.demo_planning import CLEAR_EVALUATION
from tests.conftest import PASSWORD, actor

# The flat answers of a patient whom no rule flags (the demo's, so there is one copy).
CLEAR_ANSWERS = CLEAR_EVALUATION


def rationale(rule_id):
    """What a rule says, as pages and messages show it instead of its id."""
    return next(rule.rationale for rule in load_rules().rules if rule.id == rule_id)


def as_prescriber(prescriber, clinic):
    return actor(prescriber, clinic, Role.PRESCRIBER)


def signed_evaluation(prescriber, clinic, patient, **changes):
    """An evaluation with CLEAR_ANSWERS (plus ``changes``), completed and signed."""
    who = as_prescriber(prescriber, clinic)
    evaluation = actions.start_evaluation(who, patient, {**CLEAR_ANSWERS, **changes}, "")
    actions.complete_evaluation(who, evaluation.pk)
    return actions.sign_evaluation(who, evaluation.pk, PASSWORD)


def iv_request(**changes):
    data = {
        "protocol_id": "iv_ketamine",
        "dose": Decimal("0.5"),
        "start_date": timezone.localdate() + timedelta(days=1),
        "vial_mg_per_ml": Decimal("50"),
        "infusion_minutes": 40,
    }
    data.update(changes)
    return PlanRequest(**data)


def give_consent(user, clinic, patient, kind="treatment_ketamine", decision="granted", at=None):
    """The patient's consent (or its withdrawal) of ``kind``, recorded by ``user``."""
    return patient_actions.record_consent(
        actor(user, clinic),
        patient,
        {
            "kind": kind,
            "version": "2026-1",
            "decision": decision,
            "signed_at": at or timezone.now(),
            "signed_by": patient.full_name,
        },
    )


@pytest.fixture
def evaluation(prescriber, clinic, patient):
    """A signed evaluation of a patient who consented to ketamine and esketamine treatment."""
    for kind in ("treatment_ketamine", "treatment_esketamine"):
        give_consent(prescriber, clinic, patient, kind)
    return signed_evaluation(prescriber, clinic, patient)


def signed_plan(prescriber, clinic, patient, evaluation=None):
    """A signed IV ketamine plan starting tomorrow (on a new signed evaluation if none), the
    patient's consent to ketamine treatment recorded first."""
    evaluation = evaluation or signed_evaluation(prescriber, clinic, patient)
    give_consent(prescriber, clinic, patient)
    who = as_prescriber(prescriber, clinic)
    draft = actions.draft_plan(who, evaluation.pk, iv_request())
    return actions.sign_plan(who, draft.pk, PASSWORD)


@pytest.fixture
def plan(prescriber, clinic, patient, evaluation):
    return signed_plan(prescriber, clinic, patient, evaluation)
