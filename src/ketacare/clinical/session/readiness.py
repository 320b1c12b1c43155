"""When a monitored patient may go: the earliest discharge the observation time allows, and
whether the chair board shows the session as ready. Plain values in, ``now`` passed by the
caller; the criteria themselves are ``checks.discharge_problems``."""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta


def earliest_discharge(dosed_at: datetime | None, minimum_minutes: int) -> datetime | None:
    """The first moment the protocol's minimum observation time allows discharge."""
    if dosed_at is None:
        return None
    return dosed_at + timedelta(minutes=minimum_minutes)


def ready_for_discharge(
    *,
    monitoring: bool,
    dosed_at: datetime | None,
    open_alerts: int,
    minimum_minutes: int,
    now: datetime,
    blockers: Callable[[], Sequence[str]],
) -> bool:
    """Ready for discharge but for what the nurse attests at discharge (dissociation, escort).

    ``blockers`` (every discharge criterion not met, the attested ones taken as met) runs only
    for a monitored session past its minimum observation time without an open alert: both
    are among the blockers' own criteria, so skipping it never shows a session as ready that
    is not, and a board of sessions not yet near discharge computes none."""
    if not monitoring or dosed_at is None or open_alerts:
        return False
    earliest = earliest_discharge(dosed_at, minimum_minutes)
    if earliest is None or now < earliest:
        return False
    return not blockers()
