"""Writing audit events. Call inside the transaction of the change being audited."""

from typing import Any

from django.db import IntegrityError, models, transaction

from ketacare.actor import Actor
from ketacare.audit import checkpoints
from ketacare.audit.chain import GENESIS_HASH, json_safe
from ketacare.audit.models import AuditEvent, ChainHead

Action = AuditEvent.Action


def chain_head(clinic_id: int | None, *, lock: bool) -> ChainHead:
    """The head of the chain that events of ``clinic_id`` go on (the installation's for
    none), created at the clinic's first event. ``lock``: take its row lock, which every
    writer of that chain queues for, so no two events share a parent."""
    heads = ChainHead.objects.select_for_update() if lock else ChainHead.objects.all()
    if clinic_id is None:
        head = heads.filter(pk=ChainHead.INSTALLATION).first()
        if head is None:
            head = ChainHead.objects.create(pk=ChainHead.INSTALLATION, last_hash=GENESIS_HASH)
        return head
    head = heads.filter(clinic_id=clinic_id).first()
    if head is None:
        try:
            with transaction.atomic():
                ChainHead.objects.create(clinic_id=clinic_id, last_hash=GENESIS_HASH)
        except IntegrityError:
            # Another writer created it first (its row is committed now), or something else
            # is wrong, which the creation's error says.
            head = heads.filter(clinic_id=clinic_id).first()
            if head is None:
                raise
            return head
        head = heads.get(clinic_id=clinic_id)
    return head


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
    """Append one event to its clinic's hash chain, in the caller's transaction, at the
    actor's time (``actor.now()``)."""
    clinic = clinic or actor.clinic
    with transaction.atomic():
        head = chain_head(clinic.pk if clinic is not None else None, lock=True)
        event = AuditEvent(
            occurred_at=actor.now(),
            actor=actor.user,
            actor_username=actor.username,
            role=actor.role,
            clinic=clinic,
            action=action,
            object_type=object_type or (obj._meta.model_name if obj is not None else "") or "",
            object_id=str(obj.pk) if obj is not None else "",
            # An instance or its id (the bulk path's builders hold ids).
            patient_id=getattr(patient, "pk", patient),
            # Stored as the column will return it, so the digest matches on re-reading.
            ip=AuditEvent._meta.get_field("ip").get_prep_value(actor.ip),
            changes=json_safe(changes or {}),
            prev_hash=head.last_hash,
        )
        event.hash = event.compute_hash()
        event.save()
        count = head.event_count + 1  # exact: the row is locked
        ChainHead.objects.filter(pk=head.pk).update(
            last_event_id=event.pk, last_hash=event.hash, event_count=count
        )
        if checkpoints.due(count):
            checkpoints.append_on_commit(
                checkpoints.AUDIT_LOG,
                [checkpoints.Head(head.name, event.pk, count, event.hash)],
            )
    return event


def chain_heads() -> list[checkpoints.Head]:
    """Every audit chain's head as it is now, for a checkpoint."""
    return [
        checkpoints.Head(head.name, head.last_event_id, head.event_count, head.last_hash)
        for head in ChainHead.objects.filter(event_count__gt=0).order_by("pk")
    ]


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields whose value differs, as {field: {"old": ..., "new": ...}}."""
    return {
        field: {"old": before.get(field), "new": value}
        for field, value in after.items()
        if before.get(field) != value
    }
