"""Safety alerts: telling the prescribers an alert opened, and closing it with a note."""

from functools import partial

from django.db import transaction

from ketacare.actor import Actor, Clock
from ketacare.audit.record import Action, field_changes
from ketacare.measures import notify
from ketacare.measures.models import SafetyAlert
from ketacare.outbox import Outbox
from ketacare.writes import DATABASE, Writes


class AlreadyAcknowledged(Exception):
    def __init__(self, alert: SafetyAlert) -> None:
        super().__init__(alert)
        self.alert = alert


def tell_alerts(alerts: list[SafetyAlert], clock: Clock, outbox: Outbox) -> None:
    """Tell the prescribers about the alerts a response opened, once the transaction that
    writes them has committed."""
    for alert in alerts:
        # Told at once, but only once the alert is really there.
        transaction.on_commit(
            partial(notify.alert_opened, alert.pk, clock=clock, outbox=outbox), robust=True
        )


@transaction.atomic
def acknowledge_alert(actor: Actor, alert: SafetyAlert, note: str) -> SafetyAlert:
    """Close the alert with the prescriber's note. Raises AlreadyAcknowledged (carrying the
    first acknowledgement) if someone closed it in the meantime: that note stands."""
    alert = SafetyAlert.objects.select_for_update().get(pk=alert.pk)
    if not alert.is_open:
        raise AlreadyAcknowledged(alert)
    write_acknowledge(DATABASE, actor, alert, note)
    return alert


def write_acknowledge(writes: Writes, actor: Actor, alert: SafetyAlert, note: str) -> None:
    """What closing an open alert with the prescriber's note writes."""
    alert.acknowledged_by = actor.user
    alert.acknowledged_at = actor.now()
    alert.acknowledgement_note = note
    writes.save(alert, "acknowledged_by", "acknowledged_at", "acknowledgement_note")
    writes.record(
        actor,
        Action.UPDATE,
        obj=alert,
        object_type="safety_alert",
        patient=alert.patient_id,
        changes=field_changes({"acknowledged": False}, {"acknowledged": True, "note": note}),
    )
