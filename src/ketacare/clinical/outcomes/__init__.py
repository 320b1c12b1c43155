"""Change over time for one patient and instrument: baseline, response, remission, reliable
change and relapse, each with the rule that produced it."""

from ketacare.clinical.outcomes.trajectory import (
    Assessment,
    Classification,
    Measure,
    RelapsePolicy,
    assess,
    relapse_policy,
)

__all__ = ["Assessment", "Classification", "Measure", "RelapsePolicy", "assess", "relapse_policy"]
