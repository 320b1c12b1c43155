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
    expected_prev = GENESIS_HASH
    checked = 0
    last_id = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        if event.prev_hash != expected_prev:
            return Verdict(
                False,
                checked,
                f"Audit event #{event.pk} does not follow event #{last_id}: its link to the "
                "previous event is broken (an event was removed or inserted before it).",
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
    head = ChainHead.objects.filter(pk=1).first()
    head_id, head_hash, head_count = (
        (head.last_event_id, head.last_hash, head.event_count) if head else (0, GENESIS_HASH, 0)
    )
    if (head_id, head_hash, head_count) != (last_id, expected_prev, checked):
        return Verdict(
            False,
            checked,
            f"The audit log ends at event #{last_id} ({checked} events) but the chain head "
            f"records event #{head_id} ({head_count} events): events were removed from the end.",
            head_id or None,
        )
    return Verdict(True, checked, f"Audit chain intact: {checked} events verified.")
