"""The audit hash chain: each event's digest covers its content and the previous digest.

Pure functions, so that ``ketacare audit verify`` and the writer compute exactly the same
thing. Altering a row changes its digest; removing or inserting one breaks the next link.

The digest is an HMAC-SHA256 under the audit key (``keys.py``), which is kept outside the
database: someone who can rewrite the table cannot recompute the digests. Events written before
keyed chains (migration audit 0007) keep their plain SHA-256 digests; the migration sealed
where they end with the key (``legacy_seal``), so they still verify and cannot be extended.
"""

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ketacare.audit import keys

GENESIS_HASH = "0" * 64


def json_safe(value: Any) -> Any:
    """The value as it will come back from a JSON column (dates and decimals as strings)."""
    return json.loads(json.dumps(value, default=str))


def canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def encoded(content: Mapping[str, Any], prev_hash: str) -> bytes:
    """The canonical JSON that a chain's digest covers: the content and the previous digest
    (shared by the audit log's and the ledger's chains)."""
    payload = {key: canonical(value) for key, value in content.items()}
    payload["prev_hash"] = prev_hash
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return encoded.encode("utf-8")


def event_digest(content: Mapping[str, Any], prev_hash: str) -> str:
    """HMAC-SHA256, under the audit key, of the event's content and the previous event's
    digest, in canonical JSON."""
    return keys.mac("audit event", encoded(content, prev_hash))


def legacy_event_digest(content: Mapping[str, Any], prev_hash: str) -> str:
    """The unkeyed SHA-256 of events written before keyed chains (verification only)."""
    return hashlib.sha256(encoded(content, prev_hash)).hexdigest()


def legacy_seal(chain: str, last_id: int, last_hash: str) -> str:
    """The key's word that the unkeyed part of ``chain`` ends at ``last_id`` with
    ``last_hash``: an unkeyed row after it, or any other end, does not carry this seal."""
    return keys.mac("legacy seal", f"{chain}|{last_id}|{last_hash}".encode())
