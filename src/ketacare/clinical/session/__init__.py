"""The dosing day's clinical judgements: plausible vital signs, the pre-dose gate, alerts
while monitoring, and discharge criteria — from ``data/session_thresholds.toml``."""

from ketacare.clinical.session.checks import (
    BloodPressureAt,
    Check,
    Fired,
    VitalSigns,
    alerts,
    discharge_problems,
    plausibility_problems,
    pre_dose_gate,
)
from ketacare.clinical.session.gate import GateState, Reading, gate_state, rest_minutes

__all__ = [
    "BloodPressureAt",
    "Check",
    "Fired",
    "GateState",
    "Reading",
    "VitalSigns",
    "alerts",
    "discharge_problems",
    "gate_state",
    "plausibility_problems",
    "pre_dose_gate",
    "rest_minutes",
]
