"""The booking rules of the appointment book: pure Python over plain values (no Django, no
database), so that a proposal and a single move are judged by the same functions and tested
without settings (decision 0116). Imports the standard library and ``ketacare.clinical`` only
(tests/clinical/test_layering.py)."""

from ketacare.scheduling.rules.checks import (
    RULES,
    BookingContext,
    Refusal,
    check_added_day,
    check_cadence,
    check_chair_equipment,
    check_chair_free,
    check_closures,
    check_nurse_ratio,
    check_opening_hours,
    check_patient_free,
    check_preferred_times,
    check_prescriber_on_site,
    check_slot,
)
from ketacare.scheduling.rules.inputs import (
    Booking,
    Chair,
    Closure,
    OpeningHours,
    Preference,
    Resources,
    Shift,
)
from ketacare.scheduling.rules.policy import (
    GatePolicy,
    Policy,
    booking_policy,
    care_minutes,
    dose_minutes,
    gate_policy,
    slot_minutes,
)
from ketacare.scheduling.rules.series import (
    DayRefusals,
    SeriesProposal,
    Unplaced,
    explain_day,
    free_slots,
    propose_series,
)

__all__ = [
    "RULES",
    "Booking",
    "BookingContext",
    "Chair",
    "Closure",
    "DayRefusals",
    "GatePolicy",
    "OpeningHours",
    "Policy",
    "Preference",
    "Refusal",
    "Resources",
    "SeriesProposal",
    "Shift",
    "Unplaced",
    "booking_policy",
    "care_minutes",
    "check_added_day",
    "check_cadence",
    "check_chair_equipment",
    "check_chair_free",
    "check_closures",
    "check_nurse_ratio",
    "check_opening_hours",
    "check_patient_free",
    "check_preferred_times",
    "check_prescriber_on_site",
    "check_slot",
    "dose_minutes",
    "explain_day",
    "free_slots",
    "gate_policy",
    "propose_series",
    "slot_minutes",
]
