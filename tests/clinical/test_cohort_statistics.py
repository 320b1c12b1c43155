"""The cohort statistics recover known truths from synthetic clinics: response and remission
rates, time to response and median durability, within their confidence intervals; and the
researcher never sees a count under 11 or anything computed from one."""

import dataclasses
import time
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from ketacare.clinical.instruments import get
from ketacare.clinical.outcomes import Measure, assess, relapse_policy
from ketacare.clinical.outcomes.cohort.config import settings
from ketacare.clinical.outcomes.cohort.durability import SurvivalCurve, durability
from ketacare.clinical.outcomes.cohort.flow import FlowStep, flow
from ketacare.clinical.outcomes.cohort.misuse import MisuseSignals, Signal, misuse_signals
from ketacare.clinical.outcomes.cohort.proportions import Proportion, proportion, wilson
from ketacare.clinical.outcomes.cohort.response import (
    Exclusion,
    Rates,
    TimeToResponse,
    response_remission,
    time_to_response,
)
from ketacare.clinical.outcomes.cohort.safety import EventRate, Safety, Titration, safety
from ketacare.clinical.outcomes.cohort.suppression import suppress
from ketacare.clinical.protocols.library import get_protocol

EPOCH = pd.Timestamp("2026-01-05 09:00", tz="UTC")
DAY = pd.Timedelta(days=1)
PATIENT_COLUMNS = [
    "patient_id",
    "evaluated",
    "population",
    "started",
    "completed_induction",
    "first_dose_at",
    "last_induction_dose_at",
]
SCORE_COLUMNS = ["patient_id", "instrument_id", "total", "completed_at"]
SESSION_COLUMNS = [
    "session_id",
    "patient_id",
    "protocol_id",
    "date",
    "dose_mg",
    "dose_started_at",
    "gate_overridden",
    "severe_hypertension",
]


def patients_frame(n, rng, induction_days=12.0):
    first = (EPOCH + pd.to_timedelta(rng.uniform(0, 300, n), unit="D")).round("s")
    return pd.DataFrame(
        {
            "patient_id": np.arange(1, n + 1),
            "evaluated": True,
            "eligible": True,
            "started": True,
            "completed_induction": True,
            "first_dose_at": first,
            "last_induction_dose_at": first + pd.Timedelta(days=induction_days),
        }
    )


def scores_frame(patient_id, totals, at, instrument_id="phq9"):
    return pd.DataFrame(
        {
            "patient_id": np.asarray(patient_id),
            "instrument_id": instrument_id,
            "total": np.asarray(totals, dtype=int),
            "completed_at": pd.to_datetime(at),
        }
    )


def wilson_contains(p: Proportion, truth: float) -> bool:
    return p.ci_lower <= truth <= p.ci_upper


# -- Wilson ------------------------------------------------------------------------------------


def test_wilson_matches_a_hand_computed_interval():
    # 5 of 10: z = 1.959964, z^2 = 3.841459; centre = (0.5 + 0.192073) / 1.384146 = 0.5;
    # half = 1.959964 / 1.384146 * sqrt(0.025 + 0.009604) = 0.263405.
    low, high = wilson(5, 10, 0.95)
    assert low == pytest.approx(0.236593, abs=1e-6)
    assert high == pytest.approx(0.763407, abs=1e-6)
    # 0 of 10: upper = z^2 / (n + z^2) = 3.841459 / 13.841459.
    assert wilson(0, 10, 0.95) == pytest.approx((0.0, 0.277533), abs=1e-6)
    assert wilson(10, 10, 0.95) == pytest.approx((0.722467, 1.0), abs=1e-6)


def test_proportion_has_no_rate_for_an_empty_denominator():
    assert proportion(0, 0) == Proportion(0, 0, None, None, None)
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_settings_come_from_the_data_file():
    config = settings()
    assert config.outcome_window_days == (14, 31)
    assert config.small_cell_minimum == 11
    assert config.confidence_level == 0.95
    assert config.source and config.version


# -- flow --------------------------------------------------------------------------------------


def test_flow_counts_each_step_among_those_who_passed_the_previous_ones():
    rows = (
        # evaluated, eligible, started, completed, follow-up score
        [(False, False, False, False, False)] * 10
        + [(True, False, False, False, False)] * 20
        + [(True, True, False, False, False)] * 15
        + [(True, True, True, False, True)] * 5  # follow-up but never completed induction
        + [(True, True, True, True, False)] * 12
        + [(True, True, True, True, True)] * 38
        + [(False, True, True, True, True)] * 3  # bad data: not evaluated, still dropped
    )
    first = EPOCH
    last = EPOCH + 12 * DAY
    patients = pd.DataFrame(
        {
            "patient_id": range(1, len(rows) + 1),
            "evaluated": [r[0] for r in rows],
            "eligible": [r[1] for r in rows],
            "started": [r[2] for r in rows],
            "completed_induction": [r[3] for r in rows],
            "first_dose_at": [first if r[2] else pd.NaT for r in rows],
            "last_induction_dose_at": [last if r[2] else pd.NaT for r in rows],
        }
    )
    followed = [i + 1 for i, r in enumerate(rows) if r[4]]
    scores = pd.concat(
        [
            scores_frame(followed, [5] * len(followed), [last + 20 * DAY] * len(followed)),
            # a score before the last dose, or of another instrument, is no follow-up
            scores_frame([46], [9], [last - DAY]),
            scores_frame([47], [9], [last + DAY], instrument_id="gad7"),
        ]
    )
    steps = flow(patients, scores, "phq9")
    assert [(s.id, s.count, s.dropped) for s in steps] == [
        ("screened", 103, None),
        ("evaluated", 90, 13),
        ("eligible", 70, 20),
        ("started", 55, 15),
        ("completed_induction", 50, 5),
        ("follow_up", 38, 12),
    ]
    assert steps[1].share_of_previous == pytest.approx(90 / 103)
    assert steps[0].share_of_previous is None
    assert "PHQ-9" in steps[-1].rule


def test_flow_of_an_empty_cohort():
    steps = flow(pd.DataFrame(), pd.DataFrame(columns=SCORE_COLUMNS))
    assert [s.count for s in steps] == [0] * 6
    assert all(s.share_of_previous is None for s in steps[1:])


# -- response and remission -------------------------------------------------------------------


def rates_clinic(n, rng, p_response, p_remission, p_no_baseline=0.05, p_no_outcome=0.07):
    """Baseline 15-27 shortly before the first dose; a decoy score early in the window and one
    after it; the outcome score (last in the window) drawn to give the true rates."""
    patients = patients_frame(n, rng)
    ids = patients["patient_id"].to_numpy()
    first = patients["first_dose_at"]
    last = patients["last_induction_dose_at"]
    baseline = rng.integers(15, 28, n)
    kind = rng.choice(
        ["remit", "respond", "none"],
        n,
        p=[p_remission, p_response - p_remission, 1 - p_response],
    )
    outcome = np.where(
        kind == "remit",
        rng.integers(0, 5, n),
        np.where(
            kind == "respond",
            # between 5 and half the baseline: a response, not a remission
            5 + (rng.random(n) * (baseline // 2 - 4)).astype(int),
            baseline // 2 + 1 + (rng.random(n) * (baseline - baseline // 2)).astype(int),
        ),
    )
    no_baseline = rng.random(n) < p_no_baseline
    no_outcome = ~no_baseline & (rng.random(n) < p_no_outcome)
    # Without a baseline the pre-treatment score is 40 days old: beyond the 30-day lookback.
    baseline_at = first - np.where(no_baseline, 40.0, rng.uniform(0.1, 5, n)) * DAY
    parts = [
        scores_frame(ids, baseline, baseline_at),
        # an older, very low score that must never be taken as the baseline
        scores_frame(ids, np.zeros(n), baseline_at - rng.uniform(1, 10, n) * DAY),
        scores_frame(ids, rng.integers(0, 28, n), last + 11 * DAY),  # before the window
        scores_frame(ids, rng.integers(0, 28, n), last + 33 * DAY),  # after the window
        scores_frame(ids, rng.integers(0, 28, n), last + 10 * DAY, instrument_id="gad7"),
    ]
    has_outcome = ~no_outcome
    decoy_at = last + rng.uniform(14.0, 16.0, n) * DAY
    outcome_at = last + rng.uniform(16.5, 31.9, n) * DAY
    decoy = rng.integers(0, 28, n)
    parts.append(scores_frame(ids[has_outcome], decoy[has_outcome], decoy_at[has_outcome]))
    parts.append(scores_frame(ids[has_outcome], outcome[has_outcome], outcome_at[has_outcome]))
    scores = pd.concat(parts, ignore_index=True).sample(frac=1, random_state=1)
    truth = {
        "no_baseline": int(no_baseline.sum()),
        "no_outcome": int(no_outcome.sum()),
        "responders": int(((kind != "none") & ~no_baseline & ~no_outcome).sum()),
        "remitters": int(((kind == "remit") & ~no_baseline & ~no_outcome).sum()),
    }
    return patients, scores, truth


def test_response_and_remission_recover_the_true_rates():
    rng = np.random.default_rng(20261201)
    patients, scores, truth = rates_clinic(2000, rng, p_response=0.55, p_remission=0.30)
    rates = response_remission(patients, scores, "phq9")

    assert rates.population == 2000
    assert rates.n == 2000 - truth["no_baseline"] - truth["no_outcome"]
    assert rates.responders == truth["responders"]  # the last score in the window counts
    assert rates.remitters == truth["remitters"]
    assert wilson_contains(rates.response, 0.55)
    assert wilson_contains(rates.remission, 0.30)
    assert rates.response.ci_upper - rates.response.ci_lower < 0.06
    assert {e.reason: e.count for e in rates.exclusions} == {
        "no_baseline": truth["no_baseline"],
        "no_outcome_score": truth["no_outcome"],
    }
    assert rates.population == rates.n + sum(e.count for e in rates.exclusions)
    assert rates.window_days == (14, 31)
    assert "50 %" in rates.response_rule and "≤ 4" in rates.remission_rule


def test_response_uses_the_same_exact_rule_as_a_single_patients_assessment():
    # Baseline 15: 7 is a response (7.5 would be half), 8 is not; 4 is a remission, 5 is not.
    patients = patients_frame(4, np.random.default_rng(1))
    last = patients["last_induction_dose_at"]
    first = patients["first_dose_at"]
    scores = pd.concat(
        [
            scores_frame([1, 2, 3, 4], [15] * 4, first - DAY),
            scores_frame([1, 2, 3, 4], [7, 8, 4, 5], last + 20 * DAY),
        ]
    )
    rates = response_remission(patients, scores)
    assert (rates.n, rates.responders, rates.remitters) == (4, 3, 1)
    for pid, total in zip([1, 2, 3, 4], [7, 8, 4, 5], strict=True):
        single = assess(
            get("phq9"),
            [
                Measure(first[pid - 1] - DAY, 15),
                Measure(last[pid - 1] + 20 * DAY, total),
            ],
            first[pid - 1],
        )
        assert single.get("response").met is (total <= 7)


def test_the_window_and_completed_only_options():
    patients = patients_frame(3, np.random.default_rng(2))
    patients.loc[2, "completed_induction"] = False
    first, last = patients["first_dose_at"], patients["last_induction_dose_at"]
    scores = pd.concat(
        [
            scores_frame([1, 2, 3], [20] * 3, first - DAY),
            scores_frame([1, 2, 3], [8, 8, 8], last + 45 * DAY),
        ]
    )
    assert response_remission(patients, scores).n == 0
    wide = response_remission(patients, scores, window=(40, 60))
    assert (wide.n, wide.responders, wide.window_days) == (3, 3, (40, 60))
    assert response_remission(patients, scores, window=(40, 60), completed_only=True).n == 2


def test_nobody_with_a_baseline():
    rng = np.random.default_rng(3)
    patients = patients_frame(50, rng)
    scores = scores_frame(
        patients["patient_id"], [6] * 50, patients["last_induction_dose_at"] + 20 * DAY
    )
    rates = response_remission(patients, scores)
    assert rates.n == 0
    assert rates.response == Proportion(0, 0, None, None, None)
    assert rates.exclusions[0] == Exclusion(
        "no_baseline", rates.exclusions[0].description, count=50
    )
    assert rates.exclusions[1].count == 0
    assert time_to_response(patients, scores).n == 0
    assert durability(patients, scores).n == 0


def test_an_empty_cohort():
    patients = pd.DataFrame(columns=PATIENT_COLUMNS)
    scores = pd.DataFrame(columns=SCORE_COLUMNS)
    rates = response_remission(patients, scores)
    assert (rates.population, rates.n, rates.response.rate) == (0, 0, None)
    ttr = time_to_response(patients, scores)
    assert (ttr.n, ttr.median_days) == (0, None)
    curve = durability(patients, scores)
    assert (curve.n, curve.median_days, curve.timeline) == (0, None, ())
    assert all(a.n == 0 for a in curve.at_risk)
    # The loader's frame for a clinic without patients has no columns at all.
    assert response_remission(pd.DataFrame(), pd.DataFrame()).n == 0
    empty = safety(pd.DataFrame(columns=SESSION_COLUMNS), pd.DataFrame())
    assert (empty.sessions, empty.all_events.per_100_sessions) == (0, None)
    assert misuse_signals(pd.DataFrame(), pd.DataFrame(), pd.DataFrame()).patients == 0


def test_an_instrument_without_a_response_rule_is_refused():
    with pytest.raises(ValueError, match="no response rule"):
        response_remission(pd.DataFrame(), pd.DataFrame(), "auditc")


# -- time to response and durability ---------------------------------------------------------


def durability_clinic(n, rng, median_days, follow_up=(30, 240)):
    """Baseline 20; two non-responding scores; a first response on a known day; then weekly
    responding scores until relapse (exponential with a known median: two scores of 15 and
    16, the first at the relapse time) or the end of follow-up (censored at the last score).
    About a quarter of the patients never respond."""
    patients = patients_frame(n, rng)
    first = patients["first_dose_at"].to_numpy()
    relapse_after = rng.exponential(median_days / np.log(2), n)
    follow = rng.uniform(*follow_up, n)
    respond_day = rng.integers(5, 36, n).astype(float)
    responds = rng.random(n) < 0.75
    rows_id, rows_total, rows_at = [], [], []

    def add(pid, total, at):
        rows_id.append(pid)
        rows_total.append(total)
        rows_at.append(at)

    for i in range(n):
        pid, f = i + 1, first[i]
        add(pid, 20, f - np.timedelta64(1, "D"))
        add(pid, 14, f + np.timedelta64(2, "D"))
        add(pid, 11, f + np.timedelta64(4, "D"))  # 11 is not half of 20
        if not responds[i]:
            add(pid, 12, f + np.timedelta64(40, "D"))
            continue
        r = f + pd.Timedelta(days=respond_day[i]).to_timedelta64()
        add(pid, 9, r)
        end = min(relapse_after[i], follow[i])
        for week in np.arange(7.0, end, 7.0):
            add(pid, 8, r + pd.Timedelta(days=week).to_timedelta64())
        if relapse_after[i] < follow[i]:
            add(pid, 15, r + pd.Timedelta(days=relapse_after[i]).to_timedelta64())
            add(pid, 16, r + pd.Timedelta(days=relapse_after[i] + 1).to_timedelta64())
        else:
            add(pid, 7, r + pd.Timedelta(days=follow[i]).to_timedelta64())
    scores = scores_frame(rows_id, rows_total, pd.to_datetime(rows_at, utc=True).round("s"))
    truth = {
        "responders": int(responds.sum()),
        "relapsed": int((responds & (relapse_after < follow)).sum()),
        "respond_day": respond_day[responds],
    }
    return patients, scores, truth


def test_time_to_response_is_measured_from_the_first_dose():
    rng = np.random.default_rng(7)
    patients, scores, truth = durability_clinic(600, rng, median_days=60)
    result = time_to_response(patients, scores)
    assert result.assessed == 600
    assert result.n == truth["responders"]
    q1, median, q3 = np.percentile(truth["respond_day"], [25, 50, 75])
    assert result.median_days == pytest.approx(median)
    assert (result.q1_days, result.q3_days) == pytest.approx((q1, q3))
    assert [e.count for e in result.exclusions] == [0, 0]


def test_durability_recovers_a_known_median():
    rng = np.random.default_rng(20261202)
    patients, scores, truth = durability_clinic(2000, rng, median_days=60)
    curve = durability(patients, scores)

    assert curve.n == truth["responders"]
    assert curve.events == truth["relapsed"]
    assert curve.censored == curve.n - curve.events
    assert curve.median_ci_lower <= 60 <= curve.median_ci_upper
    assert curve.median_days == pytest.approx(60, rel=0.15)
    # S(t) of an exponential at its median is 0.5: inside the pointwise band there.
    at = np.searchsorted(curve.timeline, 60, side="right") - 1
    assert curve.ci_lower[at] <= 0.5 <= curve.ci_upper[at]
    assert len(curve.timeline) == len(curve.survival) == len(curve.ci_lower)
    assert len(curve.n_at_risk) == len(curve.timeline)
    assert curve.at_risk[0].day == 0 and curve.at_risk[0].n == curve.n
    assert [a.day for a in curve.at_risk] == list(settings().at_risk_days)
    assert all(a.n >= b.n for a, b in zip(curve.at_risk, curve.at_risk[1:], strict=False))
    assert curve.confidence_level == 0.95
    assert str(relapse_policy().consecutive_measures) in curve.rule


def test_durability_counts_the_relapses_trajectory_finds():
    rng = np.random.default_rng(11)
    patients, scores, _ = durability_clinic(300, rng, median_days=40)
    curve = durability(patients, scores)
    first = dict(zip(patients["patient_id"], patients["first_dose_at"], strict=True))
    relapsed = 0
    for pid, group in scores.groupby("patient_id"):
        measures = [
            Measure(t.to_pydatetime(), int(v))
            for t, v in zip(group["completed_at"], group["total"], strict=True)
        ]
        found = assess(get("phq9"), measures, first[pid].to_pydatetime()).get("relapse")
        relapsed += found.met
    assert curve.events == relapsed


def test_a_single_non_responding_score_between_responses_is_no_relapse():
    start = datetime(2026, 3, 2, 9)
    patients = pd.DataFrame(
        {
            "patient_id": [1],
            "started": [True],
            "first_dose_at": [pd.Timestamp(start)],
            "last_induction_dose_at": [pd.Timestamp(start + timedelta(days=12))],
        }
    )
    totals = [20, 9, 14, 8, 15, 9, 12, 13, 14]  # relapse starts at the 12 (day 60)
    days = [-1, 10, 20, 30, 40, 50, 60, 70, 80]
    scores = scores_frame([1] * 9, totals, [start + timedelta(days=d) for d in days])
    curve = durability(patients, scores)
    assert (curve.n, curve.events) == (1, 1)
    assert curve.timeline[-1] == pytest.approx(50)  # day 60 minus the first response on day 10
    measures = [Measure(start + timedelta(days=d), t) for d, t in zip(days, totals, strict=True)]
    assert assess(get("phq9"), measures, start).get("relapse").since == start + timedelta(60)


def test_everyone_censored_leaves_the_median_unreached():
    rng = np.random.default_rng(5)
    patients, scores, _ = durability_clinic(200, rng, median_days=60)
    scores = scores[~scores["total"].isin([15, 16])]  # drop every relapse score: all censored
    curve = durability(patients, scores)
    assert curve.events == 0
    assert curve.censored == curve.n
    assert curve.median_days is None
    assert curve.median_ci_upper is None
    assert set(curve.survival) == {1.0}


# -- safety and misuse --------------------------------------------------------------------------


def sessions_frame(rows):
    """rows: (patient_id, protocol_id, day, dose_mg, gate_overridden, severe_hypertension)."""
    return pd.DataFrame(
        {
            "session_id": range(1, len(rows) + 1),
            "patient_id": [r[0] for r in rows],
            "protocol_id": [r[1] for r in rows],
            "date": [(EPOCH + r[2] * DAY).date() for r in rows],
            "dose_mg": [r[3] for r in rows],
            "dose_started_at": [EPOCH + r[2] * DAY for r in rows],
            "gate_overridden": [r[4] for r in rows],
            "severe_hypertension": [r[5] for r in rows],
        }
    )


def test_safety_rates_and_titration_paths():
    iv, esk = "iv_ketamine", "esketamine_trd"
    rows = [
        # patient 1 rose (35 -> 42), with a severe hypertension alert
        (1, iv, 0, 35.0, False, True),
        (1, iv, 2, 42.0, False, False),
        (1, iv, 4, 42.0, False, True),
        # patient 2 fell
        (2, iv, 0, 50.0, True, False),
        (2, iv, 3, 40.0, False, False),
        # patient 3 stayed; the switch to esketamine mg is not a titration
        (3, iv, 0, 35.0, False, False),
        (3, iv, 3, 35.0, False, False),
        (3, esk, 10, 56.0, False, False),
        # patient 4 mixed
        (4, esk, 0, 56.0, False, False),
        (4, esk, 4, 84.0, False, False),
        (4, esk, 8, 56.0, False, False),
        # patient 5 had a single session
        (5, iv, 0, 35.0, False, False),
    ]
    sessions = sessions_frame(rows).sample(frac=1, random_state=3)  # order must not matter
    events = pd.DataFrame(
        {
            "session_id": [1, 2, 4, 4, 6],
            "patient_id": [1, 1, 2, 2, 3],
            "kind": ["nausea", "nausea", "hypertension", "nausea", "headache"],
            "severity": ["mild", "moderate", "severe", "mild", "mild"],
        }
    )
    result = safety(sessions, events)
    assert (result.sessions, result.patients) == (12, 5)
    assert result.all_events == EventRate("all", 5, 500 / 12, 1, 100 / 12)
    assert [(k.kind, k.events, k.severe) for k in result.by_kind] == [
        ("nausea", 3, 0),
        ("headache", 1, 0),
        ("hypertension", 1, 1),
    ]
    assert result.by_kind[0].per_100_sessions == pytest.approx(25.0)
    assert result.severe_hypertension_sessions == proportion(2, 12)
    assert result.severe_hypertension_patients == proportion(1, 5)
    assert result.gate_overrides.count == 1
    assert result.titration == Titration(
        patients=5, rose=1, fell=1, stayed=1, mixed=1, single_session=1
    )


def test_misuse_signals():
    interval = get_protocol("iv_ketamine").raw["induction"]["min_interval_days"]
    iv = "iv_ketamine"
    rows = [
        # patient 1: two increases in a row, and a session one day after the previous one
        (1, iv, 0, 35.0, False, False),
        (1, iv, interval, 40.0, False, False),
        (1, iv, interval + 1, 45.0, False, False),
        # patient 2: increase, same, increase: not consecutive; intervals respected
        (2, iv, 0, 35.0, False, False),
        (2, iv, interval, 40.0, False, False),
        (2, iv, 2 * interval, 40.0, False, False),
        (2, iv, 3 * interval, 45.0, False, False),
        # patient 3: three increases in a row (two escalation sessions), same-day repeat
        (3, iv, 0, 30.0, False, False),
        (3, iv, 0.25, 35.0, False, False),
        (3, iv, interval + 1, 40.0, False, False),
        (3, iv, 2 * interval + 1, 45.0, False, False),
        # patient 9 is not in the cohort
        (9, iv, 0, 30.0, False, False),
        (9, iv, 1, 35.0, False, False),
        (9, iv, 2, 40.0, False, False),
    ]
    patients = pd.DataFrame({"patient_id": [1, 2, 3, 4], "started": [True, True, True, True]})
    result = misuse_signals(patients, sessions_frame(rows), pd.DataFrame(columns=SCORE_COLUMNS))
    assert result.patients == 4
    assert result.escalating_doses.patients == proportion(2, 4)
    assert result.escalating_doses.events == 3
    assert result.early_requests.patients == proportion(2, 4)
    assert result.early_requests.events == 2
    assert f"IV racemic ketamine for depression {interval} days" in result.early_requests.rule
    # No questionnaire after the first dose: nobody screened, so the 0 is no observation.
    screens = result.positive_screens_after_start
    assert (screens.patients, screens.events) == (proportion(0, 4), 0)
    assert screens.screened == proportion(0, 4)
    assert result.early_requests.screened is None


def screening_patients(sexes):
    """Started patients 1, 2, ... with the given sexes, the first dose on day 10 at 09:00."""
    return pd.DataFrame(
        {
            "patient_id": np.arange(1, len(sexes) + 1),
            "sex": sexes,
            "started": True,
            "first_dose_at": EPOCH + 10 * DAY,
        }
    )


def screens(rows):
    """rows: (patient_id, instrument_id, total, days after EPOCH)."""
    return pd.DataFrame(
        {
            "patient_id": [r[0] for r in rows],
            "instrument_id": [r[1] for r in rows],
            "total": [r[2] for r in rows],
            "completed_at": [EPOCH + r[3] * DAY for r in rows],
        },
        columns=SCORE_COLUMNS,
    )


def no_sessions():
    return pd.DataFrame(columns=SESSION_COLUMNS)


def test_a_positive_dast10_after_the_first_dose_is_a_signal_and_one_before_is_not():
    cut = get("dast10").flags[0]
    assert (cut.id, cut.total_min) == ("positive_screen", 3)  # the instrument's own cut-off
    patients = screening_patients(["male", "female", "male", "female"])
    rows = [
        (1, "dast10", 3, 40),  # positive, a month after the first dose
        (1, "dast10", 6, 50),  # and again: one patient, two screens
        (2, "dast10", 8, 9),  # positive at intake, the day before the first dose
        (2, "dast10", 0, 40),  # negative after it
        (3, "dast10", 2, 40),  # below the cut-off
        (3, "dast10", 5, 10),  # at the very moment of the first dose: not after it
        (4, "phq9", 20, 40),  # not a substance-use screen
        (9, "dast10", 9, 40),  # not in the cohort
    ]
    result = misuse_signals(patients, no_sessions(), screens(rows)).positive_screens_after_start
    assert result.patients == proportion(1, 4)
    assert result.events == 2
    assert result.screened == proportion(3, 4)  # patients 1, 2 and 3 were re-screened
    assert "DAST-10 >= 3" in result.rule and "not urine drug screens" in result.rule
    assert "Skinner" in get("dast10").source and cut.source in result.source


def test_a_patient_who_never_started_has_no_screen_after_the_start():
    patients = screening_patients(["male", "male"]).assign(
        started=[True, False], first_dose_at=[EPOCH + 10 * DAY, pd.NaT]
    )
    rows = [(1, "dast10", 4, 20), (2, "dast10", 4, 20)]
    result = misuse_signals(patients, no_sessions(), screens(rows))
    assert result.patients == 1
    assert result.positive_screens_after_start.patients == proportion(1, 1)


def test_the_audit_c_cut_off_depends_on_the_patients_sex():
    cut = get("auditc").flags[0]
    assert (cut.total_min, cut.total_min_female) == (4, 3)  # from auditc.toml
    sexes = ["female", "female", "male", "male", "intersex", "unknown"]
    totals = [3, 2, 4, 3, 3, 4]
    patients = screening_patients(sexes)
    rows = [(pid, "auditc", total, 30) for pid, total in zip(range(1, 7), totals, strict=True)]
    result = misuse_signals(patients, no_sessions(), screens(rows)).positive_screens_after_start
    # A woman at 3, a man at 4; any other sex at the general cut-off, as the scoring does.
    assert result.patients == proportion(3, 6)
    assert result.events == 3
    assert "AUDIT-C >= 4 (women >= 3)" in result.rule
    shuffled = screens(rows).sample(frac=1, random_state=5)  # order must not matter
    again = misuse_signals(patients.iloc[::-1], no_sessions(), shuffled)
    assert again.positive_screens_after_start == result


def test_positive_screens_after_start_are_suppressed_below_11():
    sexes = ["male"] * 40
    patients = screening_patients(sexes)
    # 7 positive patients of 40; 25 re-screened (18 negative).
    rows = [(pid, "dast10", 4, 30) for pid in range(1, 8)]
    rows += [(pid, "dast10", 0, 30) for pid in range(8, 26)]
    result = misuse_signals(patients, no_sessions(), screens(rows))
    shown = suppress(result).positive_screens_after_start
    assert shown.suppressed and shown.patients.count is None and shown.events is None
    assert shown.patients.n == 40
    assert shown.screened == proportion(25, 40)
    assert small_counts(shown) == [] and derived_without_source(shown) == []

    # 15 positive of 20 re-screened: 5 screened-negative patients would follow by subtraction.
    rows = [(pid, "dast10", 4, 30) for pid in range(1, 16)]
    rows += [(pid, "dast10", 1, 30) for pid in range(16, 21)]
    shown = suppress(misuse_signals(patients, no_sessions(), screens(rows)))
    signal = shown.positive_screens_after_start
    assert signal.patients == proportion(15, 40)
    assert signal.screened.count is None and signal.screened.rate is None
    assert signal.suppressed


def test_positive_screens_agree_with_a_row_by_row_reading_on_3_million_scores():
    """A reading through a join, on 3 M scores in no particular order (the strings made in
    row order, as a database read makes them). Prints the timing (never fails on it: the
    machines are shared)."""
    rng = np.random.default_rng(23)
    n, m = 100_000, 3_000_000
    patients = patients_frame(n, rng).assign(
        sex=rng.choice(["female", "male", "intersex", "unknown"], n),
        started=rng.random(n) < 0.9,
    )
    patients.loc[~patients["started"], "first_dose_at"] = pd.NaT
    first = pd.DatetimeIndex(patients["first_dose_at"]).fillna(EPOCH)
    patient_id = rng.integers(1, n + 1, m)
    at = first[patient_id - 1] + pd.to_timedelta(rng.uniform(-60, 300, m), unit="D")
    scores = pd.DataFrame(
        {
            "patient_id": patient_id,
            "instrument_id": rng.choice(["auditc", "dast10", "phq9", "gad7"], m).astype(object),
            "total": rng.integers(0, 11, m),
            "completed_at": at,
        }
    )
    began = time.perf_counter()
    result = misuse_signals(patients, pd.DataFrame(columns=SESSION_COLUMNS), scores)
    elapsed = time.perf_counter() - began
    print(f"\nmisuse signals over {len(scores):,} scores of {n:,} patients: {elapsed:.2f} s")

    merged = scores.merge(patients[patients["started"]], on="patient_id")
    cut = np.where(
        merged["instrument_id"] == "dast10",
        3,
        np.where(merged["sex"] == "female", 3, 4),
    )
    after = merged["completed_at"] > merged["first_dose_at"]
    screening = merged["instrument_id"].isin(["auditc", "dast10"]) & after
    positive = screening & (merged["total"] >= cut)
    signal = result.positive_screens_after_start
    assert signal.events == int(positive.sum())
    assert signal.patients.count == merged.loc[positive, "patient_id"].nunique()
    assert signal.screened.count == merged.loc[screening, "patient_id"].nunique()
    assert result.patients == int(patients["started"].sum())


# -- suppression ----------------------------------------------------------------------------------

COUNT_FIELDS = {
    "count",
    "n",
    "dropped",
    "population",
    "assessed",
    "events",
    "censored",
    "severe",
    "sessions",
    "patients",
    "rose",
    "fell",
    "stayed",
    "mixed",
    "single_session",
}


def small_counts(result, minimum=11, path="result"):
    """Every count field (recursively) that shows a value below the minimum."""
    found = []
    if isinstance(result, list | tuple):
        for i, item in enumerate(result):
            found += small_counts(item, minimum, f"{path}[{i}]")
    elif dataclasses.is_dataclass(result):
        for field in dataclasses.fields(result):
            value = getattr(result, field.name)
            if (
                field.name in COUNT_FIELDS
                and isinstance(value, int)
                and not isinstance(value, bool)
            ):
                if value < minimum:
                    found.append(f"{path}.{field.name}={value}")
            else:
                found += small_counts(value, minimum, f"{path}.{field.name}")
    return found


def derived_without_source(result):
    """Rates or intervals shown while the count they come from is hidden."""
    bad = []
    if isinstance(result, list | tuple):
        for item in result:
            bad += derived_without_source(item)
    elif isinstance(result, Proportion):
        if result.count is None and (result.rate, result.ci_lower, result.ci_upper) != (None,) * 3:
            bad.append(result)
    elif isinstance(result, EventRate):
        if (result.events is None and result.per_100_sessions is not None) or (
            result.severe is None and result.severe_per_100_sessions is not None
        ):
            bad.append(result)
    elif isinstance(result, FlowStep):
        if result.count is None and result.share_of_previous is not None:
            bad.append(result)
    elif dataclasses.is_dataclass(result):
        for field in dataclasses.fields(result):
            bad += derived_without_source(getattr(result, field.name))
    return bad


def test_suppression_hides_a_small_proportion_and_its_complement():
    assert suppress(proportion(5, 100)) == Proportion(None, 100, None, None, None, True)
    assert suppress(proportion(95, 100)) == Proportion(None, 100, None, None, None, True)
    assert suppress(proportion(0, 100)).count is None
    assert suppress(proportion(50, 100)) == proportion(50, 100)
    assert suppress(proportion(5, 8)) == Proportion(None, None, None, None, None, True)
    assert suppress(proportion(5, 100), minimum=5) == proportion(5, 100)


def test_suppression_of_every_result_type_leaves_no_small_count():
    rng = np.random.default_rng(13)
    patients, scores, _ = rates_clinic(120, rng, p_response=0.55, p_remission=0.05)
    rates = response_remission(patients, scores)
    assert rates.remitters < 11 and rates.exclusions[0].count < 11  # the example is small

    hidden = suppress(rates)
    assert isinstance(hidden, Rates) and hidden.suppressed
    assert hidden.remission.count is None and hidden.remission.rate is None
    assert hidden.response.count == rates.response.count  # large enough to stay
    # One exclusion hidden alone could be recovered from population - n - the other: both go.
    assert [e.count for e in hidden.exclusions] == [None, None]

    curve = durability(*durability_clinic(60, rng, median_days=30)[:2])
    rows = [
        (p, "iv_ketamine", d * 3, 35.0 + d, d == 1, d == 2) for p in range(30) for d in range(4)
    ]
    events = pd.DataFrame(
        {
            "session_id": [1] * 14 + [2] * 3,
            "patient_id": [0] * 17,
            "kind": ["nausea"] * 14 + ["headache"] * 3,
            "severity": ["mild"] * 12 + ["severe"] * 5,
        }
    )
    safe = safety(sessions_frame(rows), events)
    results = [
        rates,
        time_to_response(patients, scores),
        curve,
        safe,
        misuse_signals(patients, pd.DataFrame(columns=SESSION_COLUMNS), scores),
        flow(patients.assign(completed_induction=np.arange(120) % 20 != 0), scores),
    ]
    for result in results:
        assert small_counts(result), f"the example {type(result).__name__} has no small count"
        shown = suppress(result)
        assert type(shown) is type(result)
        assert small_counts(shown) == [], shown
        assert derived_without_source(shown) == []


def test_suppressed_flow_hides_what_subtraction_would_reveal():
    steps = [
        FlowStep("screened", "Screened", "", 500, None, None),
        FlowStep("evaluated", "Evaluated", "", 495, 5, 0.99),
        FlowStep("eligible", "Eligible", "", 400, 95, 400 / 495),
        FlowStep("started", "Started", "", 8, 392, 8 / 400),
    ]
    shown = suppress(steps)
    assert [(s.count, s.dropped, s.share_of_previous) for s in shown] == [
        (500, None, None),
        (None, None, None),  # 495 would give the 5 who dropped
        (400, None, None),  # 95 dropped would give 495 back
        (None, None, None),
    ]
    assert [s.suppressed for s in shown] == [False, True, True, True]


def test_suppressed_survival_curve_stops_where_few_remain_at_risk():
    rng = np.random.default_rng(17)
    curve = durability(*durability_clinic(400, rng, median_days=60)[:2])
    shown = suppress(curve)
    assert isinstance(shown, SurvivalCurve)
    assert min(shown.n_at_risk) >= 11
    assert shown.truncated_at_days == shown.timeline[-1] < curve.timeline[-1]
    assert shown.survival == curve.survival[: len(shown.survival)]
    assert shown.median_days == curve.median_days  # reached long before the cut
    tiny = suppress(dataclasses.replace(curve, events=7, censored=curve.n - 7))
    assert (tiny.events, tiny.censored, tiny.timeline, tiny.median_days) == (None, None, (), None)


def test_suppression_of_a_small_cohort_hides_everything():
    result = MisuseSignals(
        patients=9,
        escalating_doses=Signal("escalating_doses", proportion(1, 9), 2, "", ""),
        early_requests=Signal("early_requests", proportion(0, 9), 0, "", ""),
        positive_screens_after_start=Signal(
            "p", proportion(2, 9), 2, "", "", screened=proportion(9, 9)
        ),
    )
    shown = suppress(result)
    assert shown.patients is None and shown.suppressed
    assert shown.positive_screens_after_start.screened.n is None
    assert small_counts(shown) == []
    ttr = TimeToResponse("phq9", 10, 4, 12.0, 8.0, 20.0, (), "", "")
    assert (suppress(ttr).n, suppress(ttr).median_days) == (None, None)
    assert isinstance(suppress(safety(sessions_frame([]), pd.DataFrame())), Safety)


# -- speed -------------------------------------------------------------------------------------


def test_a_large_registry_is_analysed_in_seconds():
    """100,000 patients x 30 scores and 15 sessions each; prints the timing (never fails on
    it: the machines are shared)."""
    rng = np.random.default_rng(99)
    n, per = 100_000, 30
    patients = patients_frame(n, rng)
    first = pd.DatetimeIndex(patients["first_dose_at"])
    offsets = np.concatenate([[-1.0], np.arange(1, per) * 3.0])
    at = first.repeat(per) + pd.to_timedelta(np.tile(offsets, n), unit="D")
    scores = pd.DataFrame(
        {
            "patient_id": np.repeat(patients["patient_id"].to_numpy(), per),
            "instrument_id": "phq9",
            "total": rng.integers(0, 28, n * per),
            "completed_at": at,
        }
    ).sample(frac=1, random_state=2)
    k = 15
    session_at = first.repeat(k) + pd.to_timedelta(np.tile(np.arange(k) * 3.0, n), unit="D")
    sessions = pd.DataFrame(
        {
            "session_id": np.arange(n * k),
            "patient_id": np.repeat(patients["patient_id"].to_numpy(), k),
            "protocol_id": "iv_ketamine",
            "date": session_at.normalize(),
            "dose_mg": rng.choice([35.0, 42.0, 50.0], n * k),
            "dose_started_at": session_at,
            "gate_overridden": rng.random(n * k) < 0.01,
            "severe_hypertension": rng.random(n * k) < 0.005,
        }
    )
    events = pd.DataFrame(
        {
            "session_id": rng.integers(0, n * k, 20_000),
            "patient_id": rng.integers(1, n + 1, 20_000),
            "kind": rng.choice(["nausea", "headache", "hypertension"], 20_000),
            "severity": rng.choice(["mild", "moderate", "severe"], 20_000),
        }
    )
    timings = {}
    for name, run in [
        ("flow", lambda: flow(patients, scores)),
        ("response_remission", lambda: response_remission(patients, scores)),
        ("time_to_response", lambda: time_to_response(patients, scores)),
        ("durability", lambda: durability(patients, scores)),
        ("safety", lambda: safety(sessions, events)),
        ("misuse_signals", lambda: misuse_signals(patients, sessions, scores)),
    ]:
        began = time.perf_counter()
        result = run()
        timings[name] = time.perf_counter() - began
        suppress(result)
    total = sum(timings.values())
    print(
        f"\ncohort statistics, {n:,} patients / {len(scores):,} scores / {len(sessions):,} "
        f"sessions: {total:.2f} s (" + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()) + ")"
    )
