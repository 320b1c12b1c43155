"""The esketamine REMS Patient Monitoring Form's rules (clinical-reference §2): due 7 days after
the dose, boxes for the label's doses, sedation as the MOAA/S scale says it, and respiratory
depression as the respiratory alerts say it — each number in one data file, with its source."""

import re
from datetime import date
from decimal import Decimal

import pytest

from ketacare.clinical.datafiles import load
from ketacare.clinical.eligibility import field_specs
from ketacare.clinical.protocols.library import PROTOCOL_IDS, get_protocol
from ketacare.clinical.session import VitalSigns, alerts
from ketacare.clinical.session.checks import check
from ketacare.clinical.session.rems import (
    bp_at_minutes,
    concomitant_questions,
    deadline,
    deadline_days,
    dissociated,
    form_doses_mg,
    low_respiratory_rate,
    respiratory_alerts,
    sedated,
)

CITATION = re.compile(r"clinical-reference §\d")


def test_the_form_is_due_7_days_after_the_dose():
    assert deadline_days() == 7
    assert deadline(date(2026, 12, 28)) == date(2027, 1, 4)


def test_the_form_s_dose_boxes_are_the_label_s_doses():
    label = {
        Decimal(str(mg))
        for p in PROTOCOL_IDS
        if get_protocol(p).drug == "esketamine"
        for mg in get_protocol(p).raw["allowed_doses_mg"]
    }
    assert form_doses_mg() == (Decimal(56), Decimal(84))
    assert set(form_doses_mg()) == label


def test_the_blood_pressure_at_40_minutes_is_the_one_discharge_asks_for():
    rule = load("session_thresholds")["discharge_by_route"]["intranasal_esketamine"]
    assert bp_at_minutes() == (rule["bp_at_minutes"], rule["bp_window_minutes"]) == (40, 10)


@pytest.mark.parametrize("moaas, sedation", [(5, False), (4, True), (2, True), (0, True)])
def test_sedation_is_a_moaas_below_5(moaas, sedation):
    assert sedated(moaas) is sedation


@pytest.mark.parametrize("rate, low", [(9, True), (4, True), (10, False), (16, False)])
def test_a_respiratory_rate_below_10_is_respiratory_depression(rate, low):
    assert low_respiratory_rate(rate) is low
    # The same rate raises the respiratory alert while monitoring, and only it.
    raised = {
        f.check.id for f in alerts("intranasal_esketamine", VitalSigns(respiratory_rate=rate))
    }
    assert raised == ({"bradypnoea"} if low else set())


@pytest.mark.parametrize("cadss, dissociation", [(0, False), (1, True), (30, True)])
def test_any_dissociative_symptom_scored_is_dissociation(cadss, dissociation):
    assert dissociated(cadss) is dissociation


def test_the_respiratory_alerts_the_form_counts_are_alerts_of_the_dosing_day():
    for check_id in respiratory_alerts():
        assert "intranasal_esketamine" in check("alerts", check_id).routes


def test_the_concomitant_medicines_are_questions_of_the_evaluation():
    specs = field_specs()
    questions = concomitant_questions()
    assert [label for _, label in questions][:2] == [
        "Benzodiazepines",
        "Non-benzodiazepine hypnotics",
    ]
    for answer, _ in questions:
        assert specs[answer].kind == "bool"


def test_every_rems_fact_cites_the_clinical_reference():
    facts = load("rems")
    for section in ("deadline", "form", "respiratory_depression", "dissociation"):
        assert CITATION.search(facts[section]["source"]), section
