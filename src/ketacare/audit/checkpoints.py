"""Signed checkpoints of the hash chains' heads, in append-only files outside the database.

A chain head in the database can be rewound by whoever can write to the database: delete the
newest events, point the head at the last one left, and the chain verifies. A checkpoint is a
line that records where a chain stood — its last item, how many items it held, the last
digest — signed with the audit key, appended to a file the database cannot reach
(``settings.KETACARE_CHECKPOINT_DIR``: ``audit.log`` for the audit chains, ``ledger.log`` for
the ledger's). ``verify`` checks the database against every line: a checkpointed item missing,
a head behind a checkpoint, or a digest other than the checkpointed one is named.

Lines are written after the transaction that made the head commits (``append_on_commit``),
so a line never names something that was rolled back; the file is opened with ``O_APPEND``
and each write is one ``write()`` of whole lines followed by ``fsync``. Used by both chains:
``ketacare.audit`` (one chain per clinic) and ``ketacare.inventory`` (one per registration).
"""

import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from ketacare.audit import keys

AUDIT_LOG = "audit.log"
LEDGER_LOG = "ledger.log"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Head:
    """Where a chain stands: its last item's id, how many items it holds, the last digest."""

    chain: str
    last_id: int
    count: int
    hash: str


@dataclass(frozen=True)
class Recorded:
    """A checkpoint as read back from its file."""

    head: Head
    time: str
    where: str  # "<file> line <n>", for messages


def log_path(log: str) -> Path:
    return Path(settings.KETACARE_CHECKPOINT_DIR) / log


def due(count: int) -> bool:
    """Whether a chain that now holds ``count`` items gets an automatic checkpoint."""
    every = int(settings.KETACARE_CHECKPOINT_EVERY)
    return every > 0 and count > 0 and count % every == 0


def _signed(fields: dict[str, Any]) -> str:
    encoded = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return keys.mac("checkpoint", encoded.encode("utf-8"))


def line(head: Head, when: datetime) -> str:
    """One checkpoint as a line of its file: the head, the time, the key's id, the signature."""
    fields: dict[str, Any] = {
        "time": when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "chain": head.chain,
        "last_id": head.last_id,
        "count": head.count,
        "hash": head.hash,
        "key": keys.key_id(),
    }
    fields["sig"] = _signed(fields)
    return json.dumps(fields, sort_keys=True, separators=(",", ":")) + "\n"


def append(log: str, heads: Iterable[Head], when: datetime | None = None) -> Path:
    """Append a checkpoint line for each head to ``log``; returns the file's path."""
    path = log_path(log)
    when = when or datetime.now(UTC)
    data = "".join(line(head, when) for head in heads).encode("utf-8")
    if not data:
        return path
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # O_APPEND: every write lands at the end, whoever else appends; nothing here can seek
    # back and rewrite a line.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def append_on_commit(log: str, heads: Iterable[Head]) -> None:
    """Append the checkpoints once the current transaction has committed (at once outside
    one). A failure to write is logged, not raised: the change it follows is committed, and
    the next checkpoint covers it."""
    pending = list(heads)

    def write() -> None:
        try:
            append(log, pending)
        except OSError:
            logger.exception(
                "Could not append a checkpoint to %s; the next checkpoint will cover it.",
                log_path(log),
            )

    transaction.on_commit(write)


def read(log: str) -> tuple[list[Recorded], list[str]]:
    """The checkpoints in ``log`` whose signature holds, and a problem for each line that is
    unreadable or not signed by this installation's key (edited, forged, or another key)."""
    path = log_path(log)
    if not path.exists():
        return [], []
    recorded: list[Recorded] = []
    problems: list[str] = []
    current = keys.key_id()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        where = f"{path} line {number}"
        try:
            fields = json.loads(raw)
            signature = str(fields.pop("sig"))
            head = Head(
                chain=str(fields["chain"]),
                last_id=int(fields["last_id"]),
                count=int(fields["count"]),
                hash=str(fields["hash"]),
            )
            when, key = str(fields["time"]), str(fields["key"])
        except (ValueError, KeyError, TypeError, AttributeError):
            problems.append(f"Checkpoint {where} cannot be read: the file was edited.")
            continue
        if key != current:
            problems.append(
                f"Checkpoint {where} was signed with audit key {key}, not with this "
                f"installation's key {current}: the audit key (KETACARE_AUDIT_KEY or the key "
                "file) was changed or lost, or the line was forged."
            )
        elif not keys.same(_signed(fields), signature):
            problems.append(
                f"Checkpoint {where} does not carry a valid signature: it was edited or forged."
            )
        else:
            recorded.append(Recorded(head, when, where))
    return recorded, problems


@dataclass
class Expectations:
    """The checkpoints of one chain, ticked off while the chain is walked in order. ``name``
    turns an item's id into words ("audit event #12"); ``items`` is their plural."""

    name: Callable[[int], str]
    items: str
    pending: dict[int, list[Recorded]] = field(default_factory=dict)
    matched: int = 0

    def __contains__(self, last_id: int) -> bool:
        return last_id in self.pending

    def check(self, last_id: int, count: int, digest: str) -> str | None:
        """The walk reached ``last_id`` as the chain's ``count``-th item, with ``digest``."""
        for rec in self.pending.pop(last_id, []):
            if not keys.same(rec.head.hash, digest):
                return (
                    f"The checkpoint of {rec.time} ({rec.where}) recorded another digest for "
                    f"{self.name(last_id)}: the chain was rewritten and re-hashed up to it."
                )
            if rec.head.count != count:
                return (
                    f"The checkpoint of {rec.time} ({rec.where}) counted {rec.head.count} "
                    f"{self.items} up to {self.name(last_id)}, the chain holds {count}: "
                    f"{self.items} before it were removed or inserted."
                )
            self.matched += 1
        return None

    def unmatched(self, head_last_id: int, head_count: int, chain: str) -> str | None:
        """After the walk up to the head: a checkpointed item that was not found."""
        if not self.pending:
            return None
        missing = [i for i in sorted(self.pending) if i <= head_last_id]
        if missing:
            rec = self.pending[missing[0]][0]
            return (
                f"The checkpoint of {rec.time} ({rec.where}) recorded {self.name(missing[0])}, "
                "which is missing: it was removed."
            )
        last_id = self.latest()
        rec = self.pending[last_id][0]
        at = self.name(head_last_id) if head_last_id else "its start"
        return (
            f"{chain} ends at {at} ({head_count} {self.items}), but the checkpoint of "
            f"{rec.time} ({rec.where}) recorded {self.name(last_id)} ({rec.head.count} "
            f"{self.items}): {self.items} were removed from the end and the chain head rewound."
        )

    def latest(self) -> int:
        return max(self.pending)


def by_chain(
    recorded: Iterable[Recorded], name: Callable[[int], str], items: str
) -> dict[str, Expectations]:
    """The checkpoints grouped by chain, ready to be checked during each chain's walk."""
    chains: dict[str, Expectations] = {}
    for rec in recorded:
        expectations = chains.setdefault(rec.head.chain, Expectations(name, items))
        expectations.pending.setdefault(rec.head.last_id, []).append(rec)
    return chains
