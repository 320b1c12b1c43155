"""The measures page's baseline, response, remission and relapse: one definition of baseline
(the last score on or before the first recorded dose, within the lookback of cohort.toml),
the same one the outcomes registry uses."""

import html as html_lib
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketacare.clinical.instruments import get, score
from ketacare.clinical.outcomes.cohort.durability import durability
from ketacare.clinical.outcomes.cohort.response import response_remission, time_to_response
from ketacare.clinical.outcomes.cohort.scores import score_series
from ketacare.clinical.outcomes.trajectory import baseline_rule
from ketacare.measures.models import QuestionnaireResponse
from ketacare.measures.summary import patient_summary
from ketacare.registry.dataset import Cohort, load
from ketacare.treatments.models import TreatmentSession
from tests.planning.conftest import signed_plan

DAY = timedelta(days=1)


def phq9(total):
    """PHQ-9 answers with this total and item 9 at 0 (no safety alert)."""
    answers = [min(3, max(0, total - 3 * i)) for i in range(8)] + [0]
    assert sum(answers) == total
    return answers


def scores(nurse, patient, *at_and_total):
    """Scored PHQ-9 responses (as staff entry saves them), in the order given."""
    instrument = get("phq9")
    for at, total in at_and_total:
        answers = phq9(total)
        result = score(instrument, answers)
        QuestionnaireResponse.objects.create(
            patient=patient,
            instrument_id="phq9",
            instrument_version=instrument.version,
            answers=answers,
            total=result.total,
            severity=result.severity or "",
            completed_at=at,
            source=QuestionnaireResponse.Source.STAFF,
            entered_by=nurse,
        )


def doses(prescriber, clinic, patient, *times):
    """Dosed treatment sessions of one signed plan, started at ``times``."""
    plan = signed_plan(prescriber, clinic, patient)
    for planned, at in zip(plan.sessions.order_by("number"), times, strict=False):
        TreatmentSession.objects.create(
            clinic=clinic,
            patient=patient,
            plan=plan,
            planned=planned,
            date=timezone.localdate(at),
            chair="Chair 1",
            state=TreatmentSession.State.DISCHARGED,
            dose_mg=35,
            dose_started_at=at,
            discharged_at=at + timedelta(hours=2),
        )


def page(client, patient):
    return html_lib.unescape(
        client.get(reverse("patient-measures", args=[patient.pk])).content.decode()
    )


@pytest.fixture
def first_dose():
    return timezone.now() - 40 * DAY


def test_the_baseline_is_the_last_score_before_the_first_dose_not_the_first_score(
    as_user, prescriber, nurse, clinic, patient, first_dose
):
    # Against the first score (24) a 12 would be a response; against the baseline (20) not.
    scores(
        nurse,
        patient,
        (first_dose - 20 * DAY, 24),
        (first_dose - 2 * DAY, 20),
        (first_dose + 20 * DAY, 12),
    )
    doses(prescriber, clinic, patient, first_dose, first_dose + 3 * DAY)
    [series] = patient_summary(patient).series
    assert series.assessment.baseline.total == 20
    html = page(as_user(nurse), patient)
    assert "last score on or before the first dose" in html
    assert f"({timezone.localtime(first_dose):%Y-%m-%d %H:%M}), at most 30 days before it" in html
    assert f"baseline 20 on {timezone.localtime(first_dose - 2 * DAY):%Y-%m-%d}" in html
    assert "Doses recorded: 2" in html
    assert "Response</strong>: no" in html
    assert "PHQ-9 at least 50 % below baseline 20 (latest 12)" in html


def test_a_drop_to_9_from_20_is_a_response_but_not_a_remission(
    as_user, prescriber, nurse, clinic, patient, first_dose
):
    scores(nurse, patient, (first_dose - DAY, 20), (first_dose + 7 * DAY, 9))
    doses(prescriber, clinic, patient, first_dose)
    html = page(as_user(nurse), patient)
    assert "change -55.0 %" in html
    assert "Response</strong>: yes" in html
    assert "Remission</strong>: no" in html


def test_a_paper_form_typed_in_late_counts_by_when_it_was_answered(
    as_user, prescriber, nurse, clinic, patient, first_dose
):
    doses(prescriber, clinic, patient, first_dose)
    scores(nurse, patient, (first_dose + 7 * DAY, 9), (first_dose - 3 * DAY, 20))
    html = page(as_user(nurse), patient)
    assert "baseline 20" in html
    assert "Response</strong>: yes" in html


@pytest.mark.parametrize(
    ("before", "has_baseline"),
    [(timedelta(days=30), True), (timedelta(days=30, minutes=1), False)],
)
def test_a_score_more_than_the_lookback_before_the_first_dose_is_no_baseline(
    as_user, prescriber, nurse, clinic, patient, first_dose, before, has_baseline
):
    assert baseline_rule().lookback == timedelta(days=30)
    scores(nurse, patient, (first_dose - before, 20), (first_dose + 7 * DAY, 9))
    doses(prescriber, clinic, patient, first_dose)
    [series] = patient_summary(patient).series
    assert (series.assessment.baseline is not None) is has_baseline
    html = page(as_user(nurse), patient)
    assert ("Response</strong>: yes" in html) is has_baseline
    assert ("No score within 30 days before the first dose" in html) is not has_baseline


def test_before_any_dose_the_latest_score_is_the_baseline_and_nothing_is_judged(
    as_user, nurse, clinic, patient
):
    now = timezone.now()
    scores(nurse, patient, (now - 14 * DAY, 20), (now - DAY, 9))
    [series] = patient_summary(patient).series
    assert series.assessment.baseline.total == 9
    assert series.assessment.classifications == ()
    html = page(as_user(nurse), patient)
    assert "Baseline: latest score so far; no dose recorded yet." in html
    assert "baseline 9 on" in html and "(latest score so far; no dose recorded yet)" in html
    assert "No dose recorded yet, so nothing is compared with this baseline." in html
    assert "Response</strong>" not in html
    assert "change " not in html
    assert "more than 30 days old" not in html


def test_before_any_dose_a_score_too_old_to_be_a_baseline_says_so(as_user, nurse, clinic, patient):
    scores(nurse, patient, (timezone.now() - 31 * DAY, 20))
    html = page(as_user(nurse), patient)
    assert "This score is more than 30 days old: it will not count as the baseline" in html


@pytest.mark.parametrize(("last", "responded", "relapsed"), [(9, True, False), (15, False, True)])
def test_the_page_shows_what_the_registry_computes_for_the_patient(
    as_user, prescriber, nurse, clinic, patient, first_dose, last, responded, relapsed
):
    # A score older than the lookback, two before the first dose, a response on day 10, then
    # 14 on day 17 and ``last`` on day 20 (17 days after the induction's last dose, inside
    # the registry's 14-31 day outcome window).
    scores(
        nurse,
        patient,
        (first_dose - 40 * DAY, 24),
        (first_dose - 10 * DAY, 22),
        (first_dose - DAY, 20),
        (first_dose + 10 * DAY, 9),
        (first_dose + 17 * DAY, 14),
        (first_dose + 20 * DAY, last),
    )
    doses(prescriber, clinic, patient, first_dose, first_dose + 3 * DAY)

    [series] = patient_summary(patient).series
    shown = series.assessment
    data = load(Cohort(clinic_id=clinic.pk))
    registry = score_series(data.patients, data.scores, "phq9")
    assert registry.started == 1
    assert shown.baseline.total == registry.baseline_total[0] == 20
    assert shown.baseline.taken_at.timestamp() == pytest.approx(registry.baseline_t[0] * 86_400)

    rates = response_remission(data.patients, data.scores)
    assert rates.n == 1
    assert shown.get("response").met is responded is (rates.responders == 1)
    assert shown.get("remission").met is (rates.remitters == 1) is False
    curve = durability(data.patients, data.scores)
    assert (curve.n, curve.events) == (1, int(relapsed))
    assert shown.get("relapse").met is relapsed
    if relapsed:
        assert shown.get("relapse").since == first_dose + 17 * DAY
        assert curve.timeline[-1] == pytest.approx(7)  # relapse on day 17, response on day 10
    assert time_to_response(data.patients, data.scores).median_days == pytest.approx(10)

    html = page(as_user(nurse), patient)
    assert f"Response</strong>: {'yes' if responded else 'no'}" in html
    if relapsed:  # a relapse is a warning, with its day
        since = timezone.localtime(first_dose + 17 * DAY).date().isoformat()
        warning = '<li class="relapse warning" role="status"><strong>Relapse</strong> since'
        assert f"{warning} {since}" in html
    else:
        assert "Relapse</strong>: no" in html
