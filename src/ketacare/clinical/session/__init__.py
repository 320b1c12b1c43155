"""The dosing day's clinical judgements: plausible vital signs, the pre-dose gate, alerts
while monitoring, and discharge criteria — from ``data/session_thresholds.toml``."""

from ketacare.clinical.session.checks import (
    Check,
    Fired,
    VitalSigns,
    alerts,
    discharge_problems,
    plausibility_problems,
    pre_dose_gate,
)

__all__ = [
    "Check",
    "Fired",
    "VitalSigns",
    "alerts",
    "discharge_problems",
    "plausibility_problems",
    "pre_dose_gate",
]
