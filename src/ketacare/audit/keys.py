"""The audit key: the secret that makes the audit chain, the ledger and their checkpoints
impossible to re-hash for someone who can write to the database but cannot read the key.

The key lives outside the database (``KETACARE_AUDIT_KEY``, else the ``audit_key`` file in the
data directory; see settings.py). Each use gets its own sub-key derived from it, so a digest
made for one purpose (an audit event) can never pass as another (a checkpoint line).
"""

import hashlib
import hmac
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=32)
def _subkey(master: str, purpose: str) -> bytes:
    return hmac.new(master.encode("utf-8"), f"ketacare {purpose}".encode(), "sha256").digest()


def mac(purpose: str, message: bytes) -> str:
    """HMAC-SHA256 of ``message`` under the audit key's sub-key for ``purpose``, in hex."""
    key = _subkey(settings.KETACARE_AUDIT_KEY, purpose)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def key_id() -> str:
    """A short fingerprint of the audit key, safe to show and to write next to a checkpoint:
    it tells which key signed a line without revealing the key."""
    return mac("key id", b"")[:12]


def same(a: str, b: str) -> bool:
    """Compare two digests in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())
