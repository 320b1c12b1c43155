"""What is due next in a session: the next vital signs (a recheck an alert calls for before the
protocol's next planned check) and, for nasal devices, the next device. Plain values in, the
moment ``now`` passed by the caller; the tolerance for early vitals from
``data/session_thresholds.toml``."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal

from ketacare.clinical.datafiles import load
from ketacare.clinical.protocols.monitoring import VitalCheck
from ketacare.clinical.session.rechecks import Recheck


@dataclass(frozen=True)
class VitalsDue:
    """The next planned vital-sign check: when (None for "before discharge" and "before
    dosing", which have no clock time) and whether it is late."""

    label: str
    at: datetime | None
    overdue: bool


@dataclass(frozen=True)
class DevicesDue:
    """Nasal devices given and needed, and when the next may be given (None before the first:
    at once)."""

    given: int
    needed: int
    next_at: datetime | None
    interval_minutes: int


def early_minutes() -> int:
    """How long before a planned check an observation still counts for it (clinic policy)."""
    return int(load("session_thresholds")["vitals_due"]["early_minutes"])


def next_vitals(
    *,
    waiting_for_gate: bool,
    dosed_at: datetime | None,
    rechecks: Sequence[Recheck],
    planned: Sequence[VitalCheck],
    last_monitoring_at: datetime | None,
    now: datetime,
    tz: tzinfo,
) -> VitalsDue | None:
    """The next vital signs of a session.

    ``waiting_for_gate``: checked in, no pre-dose vitals yet. ``dosed_at``: when the dose of a
    session being dosed or monitored started (None otherwise: nothing is due). ``rechecks``:
    those still due, earliest first. ``planned``: the protocol's checks in time order.
    ``last_monitoring_at``: the last monitoring observation. Clock times are shown in ``tz``."""
    if waiting_for_gate:
        return VitalsDue("before dosing", None, False)
    if dosed_at is None:
        return None
    # A recheck an alert calls for comes before the protocol's next planned check.
    if rechecks:
        first = rechecks[0]
        return VitalsDue(
            f"recheck {first.what} (alert at {first.alert_at.astimezone(tz):%H:%M})",
            first.due_at,
            first.overdue(now),
        )
    early = timedelta(minutes=early_minutes())
    for check in planned:
        if check.at_min is None:
            return VitalsDue(check.label, None, False)
        if check.at_min == 0:
            continue  # before dosing: taken at the gate
        at = dosed_at + timedelta(minutes=check.at_min)
        if last_monitoring_at is not None and last_monitoring_at >= at - early:
            continue
        return VitalsDue(f"{check.at_min} min ({check.label})", at, now > at)
    return None


def minutes_since(dosed_at: datetime | None, now: datetime) -> int | None:
    """Whole minutes since the dose started (None when no dose is running or watched)."""
    if dosed_at is None:
        return None
    return int((now - dosed_at).total_seconds() // 60)


def devices_due(
    *,
    dose_mg: Decimal | None,
    mg_per_device: Decimal,
    minutes_between: int,
    given_at: Sequence[datetime],
) -> DevicesDue:
    """The devices of a nasal dose: ``given_at`` are the times the devices were given, in
    order; the next waits ``minutes_between`` after the last."""
    interval = timedelta(minutes=minutes_between)
    return DevicesDue(
        given=len(given_at),
        needed=int((dose_mg or 0) / mg_per_device),
        next_at=given_at[-1] + interval if given_at else None,
        interval_minutes=minutes_between,
    )
