"""The audit hash chain: each event's digest covers its content and the previous digest.

Pure functions, so that ``ketacare audit verify`` and the writer compute exactly the same
thing. Altering a row changes its digest; removing or inserting one breaks the next link.
"""

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64


def json_safe(value: Any) -> Any:
    """The value as it will come back from a JSON column (dates and decimals as strings)."""
    return json.loads(json.dumps(value, default=str))


def canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def event_digest(content: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 over the event's content and the previous event's digest, in canonical JSON."""
    payload = {key: canonical(value) for key, value in content.items()}
    payload["prev_hash"] = prev_hash
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
