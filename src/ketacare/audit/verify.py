"""Re-walk the audit chain and report the first event that does not fit."""

from dataclasses import dataclass

from ketacare.audit.chain import GENESIS_HASH
from ketacare.audit.models import AuditEvent, ChainHead


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    message: str
    broken_event_id: int | None = None


def verify_chain(batch_size: int = 5000) -> Verdict:
    """Check every event up to the chain head as it is now.

    The head is read first: events written while the walk runs come after it and are left for
    the next run, instead of looking like events appended behind the head's back."""
    head = ChainHead.objects.filter(pk=1).first()
    head_id, head_hash, head_count = (
        (head.last_event_id, head.last_hash, head.event_count) if head else (0, GENESIS_HASH, 0)
    )
    expected_prev = GENESIS_HASH
    checked = 0
    last_id = 0
    events = AuditEvent.objects.order_by("id")
    if head is not None:
        events = events.filter(id__lte=head_id)
    for event in events.iterator(chunk_size=batch_size):
        if event.prev_hash != expected_prev:
            previous = f"event #{last_id}" if last_id else "the start of the log"
            return Verdict(
                False,
                checked,
                f"Audit event #{event.pk} does not link to {previous}: either {previous} was "
                "altered and re-hashed, or events between them were removed or inserted.",
                event.pk,
            )
        if event.compute_hash() != event.hash:
            return Verdict(
                False,
                checked,
                f"Audit event #{event.pk} was altered: its content no longer matches its hash.",
                event.pk,
            )
        expected_prev = event.hash
        last_id = event.pk
        checked += 1
    if head is None and checked:
        return Verdict(False, checked, "The audit chain head is missing: it was removed.", None)
    if (head_id, head_hash, head_count) != (last_id, expected_prev, checked):
        return Verdict(
            False,
            checked,
            f"The audit log ends at event #{last_id} ({checked} events) but the chain head "
            f"records event #{head_id} ({head_count} events): events were removed from the "
            "end, or the head was altered.",
            head_id or None,
        )
    # Events beyond the head must have been written since the walk began; their own head
    # update commits with them. Read the newest id first, then the head, so that a write
    # committing in between is covered by the head rather than reported.
    newest = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    head_now = ChainHead.objects.filter(pk=1).values_list("last_event_id", flat=True).first()
    if newest > (head_now or 0):
        return Verdict(
            False,
            checked,
            f"Audit event #{newest} lies beyond the chain head (event #{head_now or 0}): it was "
            "added behind the application's back.",
            newest,
        )
    return Verdict(True, checked, f"Audit chain intact: {checked} events verified.")
