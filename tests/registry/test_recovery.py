"""The registry report recovers the truth a synthetic clinic was made with: its response and
remission rates, and the median time from response to relapse, each inside the report's own
confidence interval."""

import math
from datetime import date

import pytest
from django.db import transaction

from ketacare.dev.synth import SynthParams, SynthReport, synthesize
from ketacare.registry import report
from ketacare.registry.dataset import Cohort

# Rates away from the defaults, so that recovering them means something. Nobody drops out:
# the true rates are those of patients who finish the induction, and so is the report's
# population then. Most responders relapse, so that the true median exists.
TRUTH = SynthParams(
    patients=320,
    seed=23,
    months=10,
    end=date(2026, 6, 1),
    clinic="Recovery Test Clinic",
    response_rate=0.62,
    remission_rate=0.34,
    relapse_rate=0.85,
    dropout_rate=0.0,
)


@pytest.fixture(scope="module")
def made(django_db_setup, django_db_blocker):
    """The clinic (bulk path) and the report on it, rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        truth = synthesize(TRUTH, bulk=True)
        yield truth, report.build(Cohort(truth.clinic_id), deidentified=False)
        transaction.set_rollback(True)


def _true_median(truth: SynthReport) -> float:
    """The median of the drawn durations (a never-relapsing responder counts as infinite)."""
    days = sorted(truth.durability_days())
    assert sum(math.isfinite(d) for d in days) > len(days) / 2, "the median must exist"
    middle = len(days) // 2
    return days[middle] if len(days) % 2 else (days[middle - 1] + days[middle]) / 2


def _inside(value: float, low: float | None, high: float | None) -> bool:
    return low is not None and high is not None and low <= value <= high


@pytest.mark.django_db
def test_response_and_remission_are_inside_their_intervals(made):
    _, built = made
    phq9 = next(r for r in built.rates if r.instrument_id == "phq9")
    assert phq9.n is not None and phq9.n > 120
    assert _inside(TRUTH.response_rate, phq9.response.ci_lower, phq9.response.ci_upper), (
        phq9.response
    )
    assert phq9.remission is not None
    assert _inside(TRUTH.remission_rate, phq9.remission.ci_lower, phq9.remission.ci_upper), (
        phq9.remission
    )
    # The intervals are informative, not just wide.
    assert phq9.response.ci_upper - phq9.response.ci_lower < 0.2


@pytest.mark.django_db
def test_median_durability_is_inside_its_interval(made):
    truth, built = made
    curve = built.durability
    median = _true_median(truth)
    assert curve.events is not None and curve.events > 40
    assert curve.median_days is not None
    assert _inside(median, curve.median_ci_lower, curve.median_ci_upper), (
        median,
        curve.median_days,
        curve.median_ci_lower,
        curve.median_ci_upper,
    )
    # The registry sees the responders the generator drew, give or take the few whose
    # scores never showed the response.
    assert abs(curve.n - len(truth.responses)) <= 0.1 * len(truth.responses)
