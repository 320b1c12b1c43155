"""Writing audit events. Call inside the transaction of the change being audited."""

from typing import Any

from django.db import models, transaction
from django.utils import timezone

from ketacare.accounts.access import Actor
from ketacare.audit.chain import GENESIS_HASH, json_safe
from ketacare.audit.models import AuditEvent, ChainHead

Action = AuditEvent.Action


def record(
    actor: Actor,
    action: str,
    *,
    obj: models.Model | None = None,
    object_type: str = "",
    patient: Any = None,
    changes: dict[str, Any] | None = None,
    clinic: Any = None,
) -> AuditEvent:
    """Append one event to the hash chain, in the caller's transaction."""
    with transaction.atomic():
        # The head row is the chain's lock: writers queue here, so no two events share a parent.
        head = ChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            head = ChainHead.objects.create(pk=1, last_hash=GENESIS_HASH)
        event = AuditEvent(
            occurred_at=timezone.now(),
            actor=actor.user,
            actor_username=actor.username,
            role=actor.role,
            clinic=clinic or actor.clinic,
            action=action,
            object_type=object_type or (obj._meta.model_name if obj is not None else "") or "",
            object_id=str(obj.pk) if obj is not None else "",
            patient=patient,
            # Stored as the column will return it, so the digest matches on re-reading.
            ip=AuditEvent._meta.get_field("ip").get_prep_value(actor.ip),
            changes=json_safe(changes or {}),
            prev_hash=head.last_hash,
        )
        event.hash = event.compute_hash()
        event.save()
        ChainHead.objects.filter(pk=1).update(
            last_event_id=event.pk, last_hash=event.hash, event_count=models.F("event_count") + 1
        )
    return event


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields whose value differs, as {field: {"old": ..., "new": ...}}."""
    return {
        field: {"old": before.get(field), "new": value}
        for field, value in after.items()
        if before.get(field) != value
    }
