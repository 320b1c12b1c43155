"""An evaluation with every answer given (nothing fires), and helpers to walk it to signed."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ketacare.accounts.permissions import Role
from ketacare.planning import actions
from ketacare.planning.actions import PlanRequest
from tests.conftest import PASSWORD, actor

# The flat answers of a patient whom no rule flags.
CLEAR_ANSWERS = {
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


@pytest.fixture
def evaluation(prescriber, clinic, patient):
    return signed_evaluation(prescriber, clinic, patient)


def signed_plan(prescriber, clinic, patient, evaluation=None):
    """A signed IV ketamine plan starting tomorrow (on a new signed evaluation if none)."""
    evaluation = evaluation or signed_evaluation(prescriber, clinic, patient)
    who = as_prescriber(prescriber, clinic)
    draft = actions.draft_plan(who, evaluation.pk, iv_request())
    return actions.sign_plan(who, draft.pk, PASSWORD)


@pytest.fixture
def plan(prescriber, clinic, patient, evaluation):
    return signed_plan(prescriber, clinic, patient, evaluation)
