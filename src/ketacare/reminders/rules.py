"""Reminder rules as plain functions (no Django): which lead time is due, and what an
inbound text asks for. The numbers come from ``data/reminders.toml`` or the clinic's
override (``queries.policy_for``)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

CHANNELS = ("sms", "email")
# Carrier keywords (CTIA short-code conventions): any of these stops texts, these start them.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
# The most lead hours a clinic may set: a week. A bigger number is a typo, not a reminder.
LONGEST_LEAD_HOURS = 7 * 24


@dataclass(frozen=True)
class Policy:
    """When and how a clinic reminds: hours before the start, channels, and how close to the
    start a cancellation counts as late."""

    lead_hours: tuple[int, ...]
    channels: tuple[str, ...]
    late_cancel_hours: int

    def __post_init__(self) -> None:
        if not self.lead_hours or any(not 0 < h <= LONGEST_LEAD_HOURS for h in self.lead_hours):
            raise ValueError(f"Lead times are between 1 and {LONGEST_LEAD_HOURS} hours.")
        if not set(self.channels) <= set(CHANNELS):
            raise ValueError(f"Channels are {', '.join(CHANNELS)}.")
        if not 0 <= self.late_cancel_hours <= LONGEST_LEAD_HOURS:
            raise ValueError(f"The late-cancellation threshold is 0 to {LONGEST_LEAD_HOURS} h.")


def due_lead(start: datetime, now: datetime, lead_hours: Iterable[int]) -> int | None:
    """The lead time whose reminder is due at ``now`` for an appointment at ``start``: the
    shortest one whose moment has passed, while the appointment has not begun. Only the
    shortest, so that an appointment booked (or a worker restarted) late gets one reminder,
    not every one it missed at once."""
    if now >= start:
        return None
    passed = [h for h in lead_hours if start - timedelta(hours=h) <= now]
    return min(passed) if passed else None


def keyword(body: str) -> str | None:
    """ "stop" or "start" if an inbound text is a carrier keyword (alone, in any case), else
    None: any other reply ("stop by at 3?") is not read as a choice."""
    word = body.strip().strip(".!").strip().upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None
