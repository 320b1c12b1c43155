"""The dosing day's clinical judgements: plausible vital signs, the pre-dose gate, alerts
while monitoring, and discharge criteria — from ``data/session_thresholds.toml``; what is due
next (``due``), when the patient may go (``readiness``), and the REMS form's rules (``rems``)."""

from ketacare.clinical.session.checks import (
    BloodPressureAt,
    Check,
    Fired,
    VitalSigns,
    alerts,
    discharge_problems,
    plausibility_problems,
    plausible_ranges,
    pre_dose_gate,
)
from ketacare.clinical.session.gate import GateState, Reading, gate_state, rest_minutes
from ketacare.clinical.session.rechecks import RaisedAlert, Recheck, rechecks_due

__all__ = [
    "BloodPressureAt",
    "Check",
    "Fired",
    "GateState",
    "RaisedAlert",
    "Reading",
    "Recheck",
    "VitalSigns",
    "alerts",
    "discharge_problems",
    "gate_state",
    "plausibility_problems",
    "plausible_ranges",
    "pre_dose_gate",
    "rechecks_due",
    "rest_minutes",
]
