"""When a scheduled questionnaire is next due. Pure: dates in, date out."""

from datetime import date, timedelta

INTERVAL_DAYS = {"weekly": 7}


def next_due(
    schedule: str,
    starts_on: date,
    last_completed: date | None,
    every_days: int | None = None,
) -> date | None:
    """The date the next response is due, or None when nothing more is due.

    ``before_session`` assignments are sent when a treatment session is booked, so they have
    no calendar date here."""
    if schedule == "once":
        return starts_on if last_completed is None or last_completed < starts_on else None
    if schedule == "before_session":
        return None
    interval = INTERVAL_DAYS.get(schedule, every_days)
    if not interval:
        raise ValueError(f"schedule {schedule!r} needs a number of days")
    if last_completed is None or last_completed < starts_on:
        return starts_on
    return last_completed + timedelta(days=interval)
