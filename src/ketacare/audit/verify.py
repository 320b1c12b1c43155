"""Re-walk every audit chain, check it against the signed checkpoints, and report the first
thing that does not fit."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from ketacare.audit import checkpoints, keys
from ketacare.audit.chain import GENESIS_HASH, legacy_seal
from ketacare.audit.models import AuditEvent, ChainHead


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    message: str
    broken_event_id: int | None = None
    # The chains as verified (their heads when the walk began), for the next checkpoint.
    heads: tuple[checkpoints.Head, ...] = ()
    checkpoints_matched: int = 0


@dataclass(frozen=True)
class _Legacy:
    """The unkeyed events from before keyed chains: the installation's chain up to ``last_id``."""

    last_id: int
    hash: str


@dataclass(frozen=True)
class _Walk:
    checked: int
    matched: int = 0
    problem: str | None = None
    event_id: int | None = None


def _name(event_id: int) -> str:
    return f"audit event #{event_id}"


def _legacy_range(installation: ChainHead | None) -> tuple[_Legacy | None, str | None]:
    """The sealed range of unkeyed events, or why its seal does not hold."""
    if installation is None or (
        installation.legacy_event_id is None
        and not installation.legacy_hash
        and not installation.legacy_seal
    ):
        return None, None
    last_id = installation.legacy_event_id or 0
    expected = legacy_seal(installation.name, last_id, installation.legacy_hash)
    if not keys.same(expected, installation.legacy_seal):
        return None, (
            f"The seal over the audit events written before keyed chains (up to event "
            f"#{last_id}) does not hold: the range or its seal was altered, or the audit key "
            "is not the one it was sealed with."
        )
    return _Legacy(last_id, installation.legacy_hash), None


def chain_events(head: ChainHead, legacy_end: int) -> QuerySet[AuditEvent]:
    """The events on ``head``'s chain: a clinic's own events written since chains were keyed
    and per clinic; the installation's: events of no clinic, and all from before."""
    if head.clinic_id is None:
        return AuditEvent.objects.filter(Q(clinic__isnull=True) | Q(id__lte=legacy_end))
    return AuditEvent.objects.filter(clinic_id=head.clinic_id, id__gt=legacy_end)


def _walk(
    head: ChainHead,
    legacy: _Legacy | None,
    expect: checkpoints.Expectations,
    batch_size: int,
) -> _Walk:
    """Every event of one chain up to its head, then the head and its checkpoints."""
    legacy_end = legacy.last_id if legacy else 0
    expected_prev = GENESIS_HASH
    checked = 0
    last_id = 0
    sealed_seen = False
    events = chain_events(head, legacy_end).filter(id__lte=head.last_event_id).order_by("id")
    for event in events.iterator(chunk_size=batch_size):
        if event.prev_hash != expected_prev:
            previous = f"event #{last_id}" if last_id else "the start of its chain"
            return _Walk(
                checked,
                problem=f"Audit event #{event.pk} does not link to {previous}: either "
                f"{previous} was altered and re-hashed, or events between them were removed "
                "or inserted.",
                event_id=event.pk,
            )
        unkeyed = event.pk <= legacy_end
        if (event.legacy_hash() if unkeyed else event.compute_hash()) != event.hash:
            if not unkeyed and event.legacy_hash() == event.hash:
                sealed = (
                    f"only the events up to #{legacy_end}, written before keyed chains, may"
                    if legacy_end
                    else "this installation's chains were keyed from their start"
                )
                message = (
                    f"Audit event #{event.pk} carries an unkeyed SHA-256 digest, but {sealed}: "
                    "the chain was re-hashed without the audit key."
                )
            else:
                message = (
                    f"Audit event #{event.pk} was altered: its content no longer matches its "
                    "hash (or the audit key is not the one it was written with)."
                )
            return _Walk(checked, problem=message, event_id=event.pk)
        if legacy is not None and event.pk == legacy_end:
            sealed_seen = True
            if not keys.same(event.hash, legacy.hash):
                return _Walk(
                    checked,
                    problem=f"Audit event #{event.pk}, the last written before keyed chains, is "
                    "not the one the seal records: the unkeyed events were rewritten.",
                    event_id=event.pk,
                )
        expected_prev = event.hash
        last_id = event.pk
        checked += 1
        if event.pk in expect:
            problem = expect.check(event.pk, checked, event.hash)
            if problem:
                return _Walk(checked, problem=problem, event_id=event.pk)
    if legacy is not None and head.clinic_id is None and not sealed_seen:
        return _Walk(
            checked,
            problem=f"Audit event #{legacy_end}, the last written before keyed chains (as the "
            "seal records), is missing: it was removed.",
            event_id=legacy_end,
        )
    if (head.last_event_id, head.last_hash, head.event_count) != (last_id, expected_prev, checked):
        chain = "audit log" if head.clinic_id is None else f"audit chain of clinic {head.clinic_id}"
        return _Walk(
            checked,
            problem=f"The {chain} ends at event #{last_id} ({checked} events) but the chain head "
            f"records event #{head.last_event_id} ({head.event_count} events): events were "
            "removed from the end, or the head was altered.",
            event_id=head.last_event_id or None,
        )
    problem = expect.unmatched(head.last_event_id, head.event_count, head.describe())
    if problem:
        return _Walk(checked, problem=problem, event_id=expect.latest())
    return _Walk(checked, matched=expect.matched)


def _headless(heads: list[ChainHead], legacy_end: int) -> tuple[str, int | None] | None:
    """Events on no chain: their chain's head was removed. Events are read before the heads
    are re-read, so a clinic's first event, committed with its new head, is not reported."""
    known = [h.clinic_id for h in heads if h.clinic_id is not None]
    stray = AuditEvent.objects.exclude(clinic_id__in=known)
    if any(h.clinic_id is None for h in heads):
        stray = stray.exclude(clinic__isnull=True).filter(id__gt=legacy_end)
    clinics = set(stray.values_list("clinic_id", flat=True).distinct())
    if not clinics:
        return None
    orphaned = clinics - set(ChainHead.objects.values_list("clinic_id", flat=True))
    if None in orphaned:
        return "The audit chain head is missing: it was removed.", None
    if orphaned:
        event = stray.filter(clinic_id__in=orphaned).order_by("id").first()
        if event is not None:
            return (
                f"Audit event #{event.pk} belongs to clinic {event.clinic_id}, whose audit chain "
                "head is missing: it was removed.",
                event.pk,
            )
    return None


def verify_chain(batch_size: int = 5000) -> Verdict:
    """Check every event of every chain up to the chain heads as they are now, and every
    chain against its signed checkpoints.

    The checkpoints are read first and the heads next: a checkpoint is written after its
    event commits, so each one read is covered by a head read after it. Events written while
    the walk runs come after the heads and are left for the next run, instead of looking like
    events appended behind the heads' back."""
    recorded, unreadable = checkpoints.read(checkpoints.AUDIT_LOG)
    if unreadable:
        return Verdict(False, 0, unreadable[0])
    expectations = checkpoints.by_chain(recorded, _name, "events")
    heads = list(ChainHead.objects.order_by("pk"))
    installation = next((h for h in heads if h.clinic_id is None), None)
    legacy, problem = _legacy_range(installation)
    if problem:
        return Verdict(False, 0, problem)
    legacy_end = legacy.last_id if legacy else 0
    checked = matched = 0
    for head in heads:
        expect = expectations.pop(head.name, None) or checkpoints.Expectations(_name, "events")
        walk = _walk(head, legacy, expect, batch_size)
        checked += walk.checked
        matched += walk.matched
        if walk.problem:
            return Verdict(False, checked, walk.problem, walk.event_id)
    for name, expect in expectations.items():
        if expect.pending:
            last_id = expect.latest()
            rec = expect.pending[last_id][0]
            return Verdict(
                False,
                checked,
                f"The checkpoint of {rec.time} ({rec.where}) records audit chain {name} at "
                f"event #{last_id}, but that chain has no head: it was removed.",
                last_id,
            )
    headless = _headless(heads, legacy_end)
    if headless:
        return Verdict(False, checked, headless[0], headless[1])
    # Events beyond a head must have been written since the walk began; their own head
    # update commits with them. Read the newest id first, then the head, so that a write
    # committing in between is covered by the head rather than reported.
    for head in heads:
        newest = (
            chain_events(head, legacy_end).order_by("-id").values_list("id", flat=True).first() or 0
        )
        head_now = (
            ChainHead.objects.filter(pk=head.pk).values_list("last_event_id", flat=True).first()
        )
        if newest > (head_now or 0):
            return Verdict(
                False,
                checked,
                f"Audit event #{newest} lies beyond the chain head (event #{head_now or 0}): it "
                "was added behind the application's back.",
                newest,
            )
    verified = tuple(
        checkpoints.Head(h.name, h.last_event_id, h.event_count, h.last_hash)
        for h in heads
        if h.event_count
    )
    chains = f"{len(heads)} chain{'s' if len(heads) != 1 else ''}"
    return Verdict(
        True,
        checked,
        f"Audit chain intact: {checked} events verified. {chains}, "
        f"{matched} checkpoint{'s' if matched != 1 else ''} matched.",
        heads=verified,
        checkpoints_matched=matched,
    )
