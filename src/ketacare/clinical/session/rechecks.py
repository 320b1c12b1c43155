"""Rechecks after a monitoring alert: each alert calls for the vital signs it fired on to be
measured again within its check's ``recheck_minutes`` (``session_thresholds.toml``, clinic
policy). A recheck is due until an observation taken after the alert measures all of them;
discharge waits for it."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ketacare.clinical.session.checks import VITAL_LABELS, Check, VitalSigns, check


@dataclass(frozen=True)
class RaisedAlert:
    """An alert of the check ``check_id`` on an observation taken ``at``."""

    check_id: str
    at: datetime


@dataclass(frozen=True)
class Recheck:
    """A recheck still to take: of what, after which alert, and by when."""

    check: Check
    alert_at: datetime
    due_at: datetime

    @property
    def what(self) -> str:
        """What to measure again, as staff say it ("blood pressure")."""
        return " and ".join(dict.fromkeys(VITAL_LABELS[name] for name in self.check.fields))

    def overdue(self, now: datetime) -> bool:
        return now > self.due_at


def rechecks_due(
    alerts: Sequence[RaisedAlert], observations: Sequence[tuple[datetime, VitalSigns]]
) -> list[Recheck]:
    """The rechecks not yet taken, earliest due first. ``observations`` are the monitoring
    observations with the time each was taken."""
    due = []
    for alert in alerts:
        raised = check("alerts", alert.check_id)
        if raised.recheck_minutes is None:
            continue
        taken = any(
            at > alert.at and all(vitals.value(name) is not None for name in raised.fields)
            for at, vitals in observations
        )
        if not taken:
            due.append(
                Recheck(raised, alert.at, alert.at + timedelta(minutes=raised.recheck_minutes))
            )
    return sorted(due, key=lambda r: (r.due_at, r.check.id))
