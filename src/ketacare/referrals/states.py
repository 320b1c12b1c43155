"""The intake queue's rules, pure (no Django): which state may follow which, what a "not a
fit" needs, and when a referral is due an answer by the clinic's response target."""

from collections.abc import Collection, Mapping
from datetime import datetime, time, timedelta
from typing import Any

NEW, CONTACTED, EVALUATION_BOOKED = "new", "contacted", "evaluation_booked"
NOT_A_FIT, WITHDRAWN = "not_a_fit", "withdrawn"

# Where each state may go. An evaluation is booked only by accepting the referral with a
# time (the appointment is the proof), and "contacted" only by logging a contact attempt,
# so that neither state can be claimed without the record behind it. "Not a fit" and
# "withdrawn" are ends: a person who comes back refers themself again.
NEXT: Mapping[str, frozenset[str]] = {
    NEW: frozenset({CONTACTED, NOT_A_FIT, WITHDRAWN}),
    CONTACTED: frozenset({EVALUATION_BOOKED, NOT_A_FIT, WITHDRAWN}),
    EVALUATION_BOOKED: frozenset({NOT_A_FIT, WITHDRAWN}),
    NOT_A_FIT: frozenset(),
    WITHDRAWN: frozenset(),
}
OPEN = frozenset({NEW, CONTACTED})

NOT_A_FIT_REASONS: Mapping[str, str] = {
    "higher_level_of_care": "Needs a higher level of care",
    "contraindication": "A contraindication to ketamine or esketamine",
    "not_treatment_resistant": "Other treatments not yet tried",
    "insurance": "Insurance or cost",
    "distance": "Too far to attend",
    "declined": "Declined treatment",
    "other": "Other",
}

LABELS: Mapping[str, str] = {
    NEW: "New",
    CONTACTED: "Contacted",
    EVALUATION_BOOKED: "Evaluation booked",
    NOT_A_FIT: "Not a fit",
    WITHDRAWN: "Withdrawn",
}


def transition_problems(
    old: str, new: str, *, reason: str = "", referred_to: str = "", booked: bool = False
) -> list[str]:
    """Why ``old`` may not become ``new`` (empty if it may)."""
    if new not in NEXT:
        return [f"Unknown state: {new!r}."]
    if old == new:
        return [f"The referral is already {LABELS[new].lower()}."]
    if new not in NEXT[old]:
        if not NEXT[old]:
            return [f"The referral is {LABELS[old].lower()}; it can no longer change."]
        allowed = ", ".join(sorted(LABELS[s].lower() for s in NEXT[old]))
        return [f"A {LABELS[old].lower()} referral can only become: {allowed}."]
    problems = []
    if new == EVALUATION_BOOKED and not booked:
        problems.append("An evaluation is booked by accepting the referral with a time.")
    if new == NOT_A_FIT:
        if reason not in NOT_A_FIT_REASONS:
            problems.append("Choose why the referral is not a fit.")
        if not referred_to.strip():
            problems.append("Say where the person was referred (or 'nowhere' and why).")
    return problems


def is_urgent(risk: str, policy: Mapping[str, Any]) -> bool:
    return risk in policy["urgent_risks"]


def due_by(arrived: datetime, urgent: bool, policy: Mapping[str, Any]) -> datetime:
    """When a referral that ``arrived`` (aware, in the clinic's time zone) is due its first
    contact: urgent, by the end of that day; otherwise by the same time after the policy's
    number of business days (a weekend arrival counts from the next business day's start)."""
    if urgent:
        return datetime.combine(arrived.date() + timedelta(days=1), time(), arrived.tzinfo)
    days: Collection[int] = policy["business_days"]
    start = arrived
    while start.weekday() not in days:
        start = datetime.combine(start.date() + timedelta(days=1), time(), arrived.tzinfo)
    due = start
    for _ in range(policy["routine_business_days"]):
        due += timedelta(days=1)
        while due.weekday() not in days:
            due += timedelta(days=1)
    return due
