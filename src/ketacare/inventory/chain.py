"""The ledger's hash chain, per registration, and its verification.

Digests are HMAC-SHA256 under the audit key (``ketacare.audit.keys``), kept outside the
database. Entries written before keyed chains keep their SHA-256 digests up to the sequence
that migration inventory 0003 sealed with the key (see docs/decisions/0103).
"""

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from ketacare.audit import checkpoints, keys
from ketacare.audit.chain import encoded, legacy_seal
from ketacare.inventory.models import GENESIS_HASH, LedgerEntry, Registration, StockBalance


def entry_digest(content: Mapping[str, Any], prev_hash: str) -> str:
    """HMAC-SHA256, under the audit key, of the entry's content and its predecessor's
    digest, in canonical JSON."""
    return keys.mac("ledger entry", encoded(content, prev_hash))


def legacy_entry_digest(content: Mapping[str, Any], prev_hash: str) -> str:
    """The unkeyed SHA-256 of entries written before keyed chains (verification only)."""
    return hashlib.sha256(encoded(content, prev_hash)).hexdigest()


def ledger_head(registration: Registration) -> checkpoints.Head:
    """The registration's chain head, for a checkpoint."""
    return checkpoints.Head(
        registration.chain_name,
        registration.last_sequence,
        registration.last_sequence,
        registration.last_hash,
    )


def _entry_name(sequence: int) -> str:
    return f"entry #{sequence}"


@dataclass(frozen=True)
class Problem:
    registration: Registration | None  # None: the checkpoint file itself
    message: str

    @property
    def label(self) -> str:
        return self.registration.dea_number if self.registration else "checkpoints"


def _legacy_end(registration: Registration) -> tuple[int, str | None]:
    """The last sequence with an unkeyed digest (0: none), or why its seal does not hold."""
    if (
        registration.legacy_sequence is None
        and not registration.legacy_hash
        and not registration.legacy_seal
    ):
        return 0, None
    sequence = registration.legacy_sequence or 0
    expected = legacy_seal(registration.chain_name, sequence, registration.legacy_hash)
    if not keys.same(expected, registration.legacy_seal):
        return 0, (
            f"the seal over the entries written before keyed chains (up to #{sequence}) does "
            "not hold: the range or its seal was altered, or the audit key is not the one it "
            "was sealed with"
        )
    return sequence, None


def _chain_problem(
    registration: Registration,
    entries: Iterable[LedgerEntry],
    expect: checkpoints.Expectations | None = None,
) -> str | None:
    expect = expect or checkpoints.Expectations(_entry_name, "entries")
    legacy_end, problem = _legacy_end(registration)
    if problem:
        return problem
    expected_prev, expected_sequence = GENESIS_HASH, 1
    last = None
    for entry in entries:
        where = f"entry #{entry.sequence} (id {entry.pk}, {entry.kind})"
        if entry.sequence != expected_sequence:
            return f"entry #{expected_sequence} is missing (next found: #{entry.sequence})"
        if entry.prev_hash != expected_prev:
            return f"{where} does not follow the entry before it (chain broken)"
        unkeyed = entry.sequence <= legacy_end
        digest = (legacy_entry_digest if unkeyed else entry_digest)(
            entry.content(), entry.prev_hash
        )
        if digest != entry.hash:
            if not unkeyed and legacy_entry_digest(entry.content(), entry.prev_hash) == entry.hash:
                sealed = (
                    f"only the entries up to #{legacy_end}, written before keyed chains, may"
                    if legacy_end
                    else "this ledger was keyed from its start"
                )
                return (
                    f"{where} carries an unkeyed SHA-256 digest, but {sealed}: the ledger was "
                    "re-hashed without the audit key"
                )
            return f"{where} was changed after it was written (hash mismatch)"
        if unkeyed and entry.sequence == legacy_end and entry.hash != registration.legacy_hash:
            return (
                f"{where}, the last written before keyed chains, is not the one the seal "
                "records: the unkeyed entries were rewritten"
            )
        expected_prev, expected_sequence, last = entry.hash, expected_sequence + 1, entry
        if entry.sequence in expect:
            problem = expect.check(entry.sequence, entry.sequence, entry.hash)
            if problem:
                return problem
    if last is None and registration.last_sequence:
        return f"the registration records {registration.last_sequence} entries but none exist"
    if last is not None and last.sequence > registration.last_sequence:
        return (
            f"entry #{last.sequence} (id {last.pk}) lies beyond the chain head "
            f"(#{registration.last_sequence}): it was added behind the ledger's back"
        )
    if last is not None and last.sequence != registration.last_sequence:
        return f"entries after #{last.sequence} were removed (the chain head names more)"
    if last is not None and last.hash != registration.last_hash:
        return f"entry #{last.sequence} is not the one the chain head recorded"
    if legacy_end and (last is None or last.sequence < legacy_end):
        return (
            f"entry #{legacy_end}, the last written before keyed chains (as the seal records), "
            "is missing: it was removed"
        )
    return expect.unmatched(registration.last_sequence, registration.last_sequence, "the ledger")


def ledger_sums(registration: Registration) -> dict[tuple[int, int], Decimal]:
    """Units per (lot, location) as the ledger's entries add up."""
    sums: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    movements = LedgerEntry.objects.filter(registration=registration).values_list(
        "lot_id", "from_location_id", "to_location_id", "quantity_units"
    )
    for lot, source, target, units in movements:
        if source is not None:
            sums[lot, source] -= units
        if target is not None:
            sums[lot, target] += units
    return sums


def _balance_problem(registration: Registration) -> str | None:
    sums = ledger_sums(registration)
    stored = {
        (b.lot_id, b.location_id): b.quantity_units
        for b in StockBalance.objects.filter(lot__registration=registration)
    }
    for key in sorted(set(sums) | set(stored)):
        if sums.get(key, Decimal(0)) != stored.get(key, Decimal(0)):
            lot, location = key
            return (
                f"the balance of lot id {lot} at location id {location} is "
                f"{stored.get(key, 0)} but its entries add up to {sums.get(key, 0)}"
            )
    return None


def verify(registrations: Iterable[Registration]) -> list[Problem]:
    """The first problem of each registration's ledger: a broken link, an edited entry, a
    removed entry, a head behind its signed checkpoints, or a balance that its entries do not
    add up to. The checkpoints are read before any registration is locked: each was written
    after its entry committed, so the registration read later covers it."""
    recorded, unreadable = checkpoints.read(checkpoints.LEDGER_LOG)
    problems: list[Problem] = [Problem(None, message) for message in unreadable]
    expectations = checkpoints.by_chain(recorded, _entry_name, "entries")
    existing = {f"registration:{pk}" for pk in Registration.objects.values_list("pk", flat=True)}
    for chain, expect in sorted(expectations.items()):
        if chain not in existing:
            rec = expect.pending[expect.latest()][0]
            problems.append(
                Problem(
                    None,
                    f"The checkpoint of {rec.time} ({rec.where}) records the ledger {chain}, "
                    "which no longer exists: it was removed.",
                )
            )
    for stale in registrations:
        # Holding the registration's lock, as every writer does, gives one consistent picture:
        # no entry or balance changes while it is read, so anything past the chain head is a
        # forgery, not a write in flight.
        with transaction.atomic():
            registration = Registration.objects.select_for_update().get(pk=stale.pk)
            entries = LedgerEntry.objects.filter(registration=registration).order_by("sequence")
            checkpoint = expectations.get(registration.chain_name)
            message = _chain_problem(registration, entries.iterator(), checkpoint) or (
                _balance_problem(registration)
            )
        if message:
            problems.append(Problem(registration, message))
    return problems
