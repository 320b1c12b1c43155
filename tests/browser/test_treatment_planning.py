"""A prescriber evaluates a patient, overrides a needs-clearance verdict and signs an IV
ketamine plan, in a real browser: evaluation → complete → sign → override → plan → sign."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from ketacare.clinical.eligibility import load_rules
from ketacare.planning.forms import field_name
from ketacare.planning.models import EligibilityOverride, Evaluation, TreatmentPlan
from tests.browser.test_register_and_find_patient import sign_in
from tests.conftest import PASSWORD, make_patient
from tests.planning.conftest import CLEAR_ANSWERS, give_consent

pytestmark = pytest.mark.browser

ESKETAMINE_RULE = "esketamine_aneurysmal_vascular_disease"
KETAMINE_RULE = "ketamine_aneurysm_avm_or_intracerebral_haemorrhage"
OVERRIDE_REASON = "Vascular surgery cleared IV ketamine: 3 mm stable aneurysm, BP controlled."

# The evaluation as the prescriber fills it in, by form field name: CLEAR_ANSWERS, except that
# the patient has aneurysmal vascular disease.
YES_NO = {
    field_name(path): "No"
    for path, value in CLEAR_ANSWERS.items()
    if value is False and path != "screening.auditc_positive"  # AUDIT-C is a select
} | {"medical__aneurysmal_vascular_disease": "Yes"}
SELECTS = {  # name → option label
    "indication": "Treatment-resistant depression",
    "screening__auditc_positive": "Negative",
    "screening__dast10_score": "0",
    "screening__urine_toxicology": "Not indicated",
}
TYPED = {
    "adequate_antidepressant_trials": "3",
    "psychiatric__substances": "",
    "vitals__systolic": "124",
    "vitals__diastolic": "78",
    "vitals__heart_rate": "72",
}


def next_monday(today: date) -> date:
    """The first Monday after today: in the future, and a clinic day."""
    return today + timedelta(days=7 - today.weekday())


def fill_evaluation(page: Page) -> None:
    """Answer every field of the evaluation form (the answers above) and save it."""
    assert {*YES_NO, *SELECTS, *TYPED} == {field_name(path) for path in CLEAR_ANSWERS}
    form = page.locator("form.evaluation")
    for name, answer in YES_NO.items():
        field = form.locator(".field").filter(has=page.locator(f'input[name="{name}"]'))
        field.get_by_label(answer, exact=True).check()
    for name, option in SELECTS.items():
        form.locator(f'select[name="{name}"]').select_option(label=option)
    for name, text in TYPED.items():
        form.locator(f'input[name="{name}"]').fill(text)
    form.get_by_role("button", name="Save").click()


def verdict(page: Page, route: str):
    return page.locator(f'#eligibility .verdict[data-route="{route}"]')


def test_prescriber_evaluates_overrides_and_signs_an_iv_ketamine_plan(
    page: Page, console, clinic, nurse, prescriber
):
    """The whole planning flow of one prescriber, checked on screen and in the database.

    Aneurysmal vascular disease excludes intranasal esketamine (a label contraindication) and
    puts racemic ketamine on needs-clearance. The prescriber overrides IV ketamine (refused
    without a reason), drafts 0.5 mg/kg for an 80 kg patient and signs: the plan page shows the
    override, the dose in mg, six induction sessions and the concentration chart.
    """
    patient = make_patient(nurse, clinic, weight_kg=Decimal("80.0"))  # measured today
    start = next_monday(timezone.localdate())

    sign_in(page, prescriber)
    page.locator("#results").get_by_role("link", name="Lovelace, Ada").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(patient.full_name)
    page.get_by_role("main").get_by_role("link", name="Planning").click()
    expect(page.get_by_role("heading", name="Treatment planning")).to_be_visible()
    page.get_by_role("link", name="New evaluation").click()
    expect(page.get_by_role("heading", name="New pre-treatment evaluation")).to_be_visible()

    fill_evaluation(page)
    expect(page.get_by_role("status")).to_have_text("Evaluation saved (in progress).")
    expect(page.get_by_role("heading", name="Pre-treatment evaluation", exact=True)).to_be_visible()
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("status")).to_contain_text("Evaluation completed")
    page.get_by_role("link", name="Sign", exact=True).click()
    expect(page.get_by_role("heading", name="Sign the pre-treatment evaluation")).to_be_visible()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign evaluation").click()
    expect(page.get_by_role("status")).to_have_text(
        "Evaluation signed. It can no longer be edited."
    )
    evaluation = Evaluation.objects.get(patient=patient)
    assert evaluation.state == Evaluation.State.SIGNED
    expect(page.locator('[data-field="medical.aneurysmal_vascular_disease"]')).to_have_text("yes")

    # The verdicts, with the rule that fired and where it comes from.
    esketamine = verdict(page, "intranasal_esketamine")
    expect(esketamine.get_by_role("heading")).to_have_text("Intranasal esketamine — Excluded")
    # The rule in words and its source as a citation; the id stays in the audit trail.
    expect(esketamine).to_contain_text(load_rules().get(ESKETAMINE_RULE).rationale)
    expect(esketamine).to_contain_text(
        "Spravato (esketamine) prescribing information, Contraindications"
    )
    expect(esketamine.locator("a.citation")).to_have_text("clinical reference §2")
    expect(esketamine).not_to_contain_text(ESKETAMINE_RULE)
    iv = verdict(page, "iv_ketamine")
    expect(iv.get_by_role("heading")).to_have_text("IV racemic ketamine — Needs clearance")
    expect(iv).to_contain_text(load_rules().get(KETAMINE_RULE).rationale)

    # An override needs a written reason: without one, nothing is recorded.
    page.get_by_role("link", name="Override IV racemic ketamine…").click()
    expect(
        page.get_by_role("heading", name="Override eligibility: IV racemic ketamine", level=1)
    ).to_be_visible()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Record override").click()
    reason = page.get_by_label("Reason for treating despite the rules")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field", has=reason).locator(".error")).to_be_visible()
    assert EligibilityOverride.objects.count() == 0

    reason.fill(OVERRIDE_REASON)
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Record override").click()
    expect(page.get_by_role("status")).to_have_text("Override recorded for IV racemic ketamine.")
    override = page.locator("#eligibility .override")
    expect(override).to_contain_text(
        f"Override of “Needs clearance” ({load_rules().get(KETAMINE_RULE).rationale})"
    )
    expect(override).to_contain_text(f"“{OVERRIDE_REASON}”")
    expect(page.get_by_role("link", name="Override IV racemic ketamine…")).to_have_count(0)
    assert EligibilityOverride.objects.get().reason == OVERRIDE_REASON

    # Draft the plan: IV ketamine, the protocol's 0.5 mg/kg, 50 mg/mL vials over 40 minutes.
    page.get_by_role("link", name="Draft treatment plan").click()
    protocol = page.get_by_role("link", name="IV racemic ketamine for depression")
    protocol.click()
    expect(protocol).to_have_attribute("aria-current", "true")
    expect(page.get_by_label("Starting dose (mg/kg)")).to_have_value("0.5")
    page.get_by_label("Vial concentration").select_option(label="50 mg/mL")
    page.get_by_label("Infusion length").select_option(label="40 minutes")
    page.get_by_label("First session").fill(start.isoformat())
    page.get_by_role("button", name="Draft plan").click()
    expect(page.get_by_role("status")).to_have_text("Plan drafted. Check it, then sign it.")
    expect(page.get_by_role("heading", name="Treatment plan", exact=True)).to_be_visible()

    # The plan is signed on the patient's consent to the treatment.
    give_consent(prescriber, clinic, patient)
    page.get_by_role("link", name="Sign plan").click()
    expect(page.get_by_role("heading", name="Sign the treatment plan")).to_be_visible()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign plan").click()
    expect(page.get_by_role("status")).to_have_text(
        "Plan signed; its induction sessions are scheduled."
    )
    plan = TreatmentPlan.objects.get(patient=patient)
    assert plan.state == TreatmentPlan.State.SIGNED
    assert plan.override == EligibilityOverride.objects.get()

    # The signed plan: the override it rests on, the dose, the schedule, the chart.
    expect(page.locator("#eligibility")).to_contain_text(OVERRIDE_REASON)
    dose = page.locator("#dose")
    expect(dose.locator("strong")).to_have_text(re.compile(r"^40(\.0)? mg$"))  # 0.5 × 80 kg
    expect(dose).to_contain_text(re.compile(r"for 80(\.0)? kg \(actual weight\)"))
    expect(dose).to_contain_text("0.8 mL of 50 mg/mL")
    sessions = page.locator("#schedule").get_by_role("listitem")
    expect(sessions).to_have_count(6)
    # Three a week, at least two days apart: Mon, Wed, Fri, then again the week after.
    expected = [start + timedelta(days=d) for d in (0, 2, 4, 7, 9, 11)]
    expect(sessions).to_have_text([f"{d:%a %Y-%m-%d}" for d in expected])
    chart = page.locator("svg.pk-chart")
    expect(chart).to_have_attribute("role", "img")
    expect(chart.locator("polyline")).to_have_count(1)
    expect(chart.locator("polyline")).to_have_attribute("points", re.compile(r"\d"))
    expect(chart.locator("polygon")).to_have_count(1)
    expect(chart).to_contain_text("published Cmax")
    assert console.messages == []
