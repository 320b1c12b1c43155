from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from ketacare.clinical.datafiles import load
from ketacare.clinical.instruments import get
from ketacare.clinical.outcomes import Measure, RelapsePolicy, assess, relapse_policy
from ketacare.clinical.outcomes.cohort.scores import score_series
from ketacare.clinical.outcomes.trajectory import baseline, baseline_rule

START = datetime(2026, 1, 1, 9, 0)
TREATMENT = START + timedelta(days=1)


def series(*totals, start=START, step=7):
    return [Measure(start + timedelta(days=i * step), t) for i, t in enumerate(totals)]


def met(assessment, cid):
    return assessment.get(cid).met


def test_baseline_is_last_score_before_first_treatment():
    measures = [Measure(START - timedelta(days=10), 22), Measure(START, 20)]
    measures += series(9, start=TREATMENT + timedelta(days=1))
    result = assess(get("phq9"), measures, TREATMENT)
    assert result.baseline.total == 20
    assert result.change == -11
    assert result.percent_change == -55.0


@pytest.mark.parametrize(
    ("latest", "response"),
    [(10, True), (11, False), (7, True)],  # baseline 20: a 50 % drop reaches 10
)
def test_response_is_a_drop_of_at_least_half(latest, response):
    result = assess(get("phq9"), series(20, latest), TREATMENT)
    assert met(result, "response") is response
    assert "50 %" in result.get("response").rule


def test_response_from_an_odd_baseline_uses_exact_arithmetic():
    # 50 % below 15 is 7.5: 7 is a response, 8 is not.
    assert met(assess(get("phq9"), series(15, 7), TREATMENT), "response")
    assert not met(assess(get("phq9"), series(15, 8), TREATMENT), "response")


def test_ybocs_response_is_35_percent():
    assert met(assess(get("ybocs"), series(20, 13), TREATMENT), "response")  # 35 %
    assert not met(assess(get("ybocs"), series(20, 14), TREATMENT), "response")  # 30 %


@pytest.mark.parametrize(
    ("instrument", "remitted", "not_remitted"),
    [("phq9", 4, 5), ("madrs", 10, 11), ("qids_sr16", 5, 6)],
)
def test_remission_threshold_per_instrument(instrument, remitted, not_remitted):
    assert met(assess(get(instrument), series(25, remitted), TREATMENT), "remission")
    assert not met(assess(get(instrument), series(25, not_remitted), TREATMENT), "remission")


def test_reliable_change_uses_the_mcid():
    better = assess(get("phq9"), series(18, 13), TREATMENT)
    assert met(better, "reliable_improvement") and not met(better, "reliable_worsening")
    worse = assess(get("phq9"), series(10, 15), TREATMENT)
    assert met(worse, "reliable_worsening")
    small = assess(get("phq9"), series(10, 14), TREATMENT)
    assert not met(small, "reliable_worsening") and not met(small, "reliable_improvement")
    assert "MCID" in small.get("reliable_worsening").rule


def test_pcl5_reliable_change_without_response_rule():
    result = assess(get("pcl5"), series(50, 40), TREATMENT)
    assert met(result, "reliable_improvement")
    assert result.get("response") is None


def test_relapse_needs_a_response_then_two_consecutive_scores_above_the_line():
    # Baseline 20; response line is 10.
    relapsed = assess(get("phq9"), series(20, 9, 14, 15), TREATMENT)
    assert met(relapsed, "relapse")
    assert relapsed.get("relapse").since == START + timedelta(days=14)
    one_bad = assess(get("phq9"), series(20, 9, 14, 8, 15), TREATMENT)
    assert not met(one_bad, "relapse")
    never_responded = assess(get("phq9"), series(20, 14, 15, 16), TREATMENT)
    assert not met(never_responded, "relapse")


def test_relapse_definition_is_clinic_policy_from_the_data_file():
    data = load("relapse", package="ketacare.clinical.outcomes")
    assert "clinic policy" in data["source"]
    assert relapse_policy().consecutive_measures == data["consecutive_measures"]
    strict = RelapsePolicy(consecutive_measures=3, source="test")
    assert not met(assess(get("phq9"), series(20, 9, 14, 15), TREATMENT, strict), "relapse")


def test_no_baseline_no_classification():
    after_only = series(9, 8, start=TREATMENT + timedelta(days=1))
    result = assess(get("phq9"), after_only, TREATMENT)
    assert result.baseline is None and result.classifications == ()
    assert "no baseline" in result.note
    assert assess(get("phq9"), [], TREATMENT).note == "No scores yet."


def test_zero_baseline_has_no_percent_and_no_response():
    result = assess(get("phq9"), series(0, 0), TREATMENT)
    assert result.percent_change is None
    assert not met(result, "response")


def test_every_classification_names_its_rule_and_source():
    result = assess(get("phq9"), series(20, 9, 14, 15), TREATMENT)
    assert {c.id for c in result.classifications} == {
        "response",
        "remission",
        "reliable_improvement",
        "reliable_worsening",
        "relapse",
    }
    for classification in result.classifications:
        assert classification.rule and classification.source


def test_before_any_dose_the_latest_score_is_the_baseline_and_nothing_is_judged():
    result = assess(get("phq9"), series(20, 12, 9), None)
    assert result.baseline.total == 9
    assert result.classifications == ()
    assert result.change is None and result.percent_change is None
    assert result.note == "No dose recorded yet, so nothing is compared with this baseline."


@pytest.mark.parametrize(
    ("before", "baseline_total"),
    [
        (timedelta(0), 20),  # on the first dose's own start
        (timedelta(days=30), 20),  # exactly the lookback
        (timedelta(days=30, microseconds=1), None),
    ],
)
def test_the_baseline_is_at_most_the_lookback_before_the_first_dose(before, baseline_total):
    assert baseline_rule().lookback == timedelta(days=30)
    measures = [Measure(TREATMENT - before, 20), Measure(TREATMENT + timedelta(days=7), 9)]
    found = baseline(measures, TREATMENT)
    assert (found and found.total) == baseline_total
    result = assess(get("phq9"), measures, TREATMENT)
    assert (result.baseline and result.baseline.total) == baseline_total
    if baseline_total is None:
        assert result.note.startswith("No score within 30 days before the first dose")
        assert result.classifications == ()


def test_the_lookback_is_clinic_policy_from_the_data_file():
    data = load("cohort", package="ketacare.clinical.outcomes")
    rule = baseline_rule()
    assert rule.lookback == timedelta(days=data["baseline_lookback_days"])
    assert "clinic policy" in rule.source
    assert "at most 30 days before it" in rule.text


def test_the_registry_takes_the_same_baseline_as_a_single_patients_assessment():
    """``cohort`` finds baselines column by column; on the same scores it must pick, for every
    patient, the score ``trajectory.baseline`` picks, ends of the window included."""
    rng = np.random.default_rng(7)
    lookback = baseline_rule().lookback
    micro = timedelta(microseconds=1)
    # Scores at the window's edges, then patients with random scores around their first dose.
    edges = [timedelta(0), micro, -micro, -lookback, -lookback - micro, -lookback + micro]
    offsets = [[edge] for edge in edges] + [[-lookback - micro, edge] for edge in edges]
    day_us = 86_400_000_000
    for _ in range(200):
        drawn = rng.integers(-45 * day_us, 20 * day_us, int(rng.integers(0, 6)))
        offsets.append([timedelta(microseconds=int(u)) for u in drawn])
    first = [START + timedelta(minutes=int(m)) for m in rng.integers(0, 500_000, len(offsets))]
    measures = {
        pid: [Measure(first[pid] + o, int(rng.integers(0, 28))) for o in patient_offsets]
        for pid, patient_offsets in enumerate(offsets)
    }
    patients = pd.DataFrame(
        {
            "patient_id": range(len(offsets)),
            "first_dose_at": pd.to_datetime(first, utc=True),
            "last_induction_dose_at": pd.to_datetime(first, utc=True),
            "completed_induction": True,
        }
    )
    rows = [(pid, m) for pid, ms in measures.items() for m in ms]
    scores = pd.DataFrame(
        {
            "patient_id": [pid for pid, _ in rows],
            "instrument_id": "phq9",
            "total": [m.total for _, m in rows],
            "completed_at": pd.to_datetime([m.taken_at for _, m in rows], utc=True),
        }
    ).sample(frac=1, random_state=3)  # the database returns them in no particular order
    registry = score_series(patients, scores, "phq9")
    found = 0
    for pid, ms in measures.items():
        expected = baseline(ms, first[pid])
        if expected is None:
            assert registry.baseline_total[pid] == -1, pid
            continue
        found += 1
        assert registry.baseline_total[pid] == expected.total, pid
        expected_days = pd.Timestamp(expected.taken_at, tz="UTC").value / 86_400e9
        assert registry.baseline_t[pid] == pytest.approx(expected_days, abs=1e-9), pid
    assert 50 < found < len(measures) - 50  # both outcomes are exercised
