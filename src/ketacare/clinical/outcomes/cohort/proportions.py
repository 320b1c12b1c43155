"""A count of n with its Wilson score interval at cohort.toml's confidence level."""

from dataclasses import dataclass, replace
from math import sqrt
from statistics import NormalDist
from typing import Self

from ketacare.clinical.outcomes.cohort import config
from ketacare.clinical.outcomes.cohort.suppression import is_shown


@dataclass(frozen=True)
class Proportion:
    """``count`` of ``n`` with its Wilson confidence interval. ``rate`` and the bounds are
    None when ``n`` is 0 or when suppression hid them (then ``suppressed`` is True)."""

    count: int | None
    n: int | None
    rate: float | None
    ci_lower: float | None
    ci_upper: float | None
    suppressed: bool = False

    def suppressed_below(self, minimum: int) -> Self:
        """Hidden when ``n`` is small; count, rate and interval hidden when the count or its
        complement (``n - count``) is small."""
        if not is_shown(self.n, minimum):
            return replace(
                self, count=None, n=None, rate=None, ci_lower=None, ci_upper=None, suppressed=True
            )
        assert self.n is not None
        if is_shown(self.count, minimum) and is_shown(self.n - (self.count or 0), minimum):
            return self
        return replace(self, count=None, rate=None, ci_lower=None, ci_upper=None, suppressed=True)


def hidden_proportion() -> Proportion:
    """A proportion with everything hidden."""
    return Proportion(None, None, None, None, None, suppressed=True)


def wilson(count: int, n: int, level: float | None = None) -> tuple[float, float]:
    """Wilson score interval for ``count`` successes of ``n`` at ``level`` (default: the
    cohort settings' confidence level)."""
    if n <= 0:
        raise ValueError("a Wilson interval needs n > 0")
    if not 0 <= count <= n:
        raise ValueError(f"count {count} is not between 0 and n = {n}")
    level = config.settings().confidence_level if level is None else level
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    p = count / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion(count: int, n: int, level: float | None = None) -> Proportion:
    """``count`` of ``n`` as a Proportion with its Wilson interval (no rate when n is 0)."""
    if n == 0:
        return Proportion(count, n, None, None, None)
    low, high = wilson(count, n, level)
    return Proportion(count, n, count / n, low, high)
