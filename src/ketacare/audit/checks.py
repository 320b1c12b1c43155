"""A system check: several application servers must share one audit key."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning


@register(Tags.security)
def audit_key_is_shared(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """A key file generated on one machine is fine for SQLite, which lives on that machine;
    with a database server, another app server would generate a key of its own, and its
    events would not verify."""
    if settings.KETACARE_AUDIT_KEY_FROM_ENV:
        return []
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return []
    return [
        CheckWarning(
            "KETACARE_AUDIT_KEY is not set: the audit and ledger chains are keyed with "
            f"{settings.KETACARE_AUDIT_KEY_FILE}, generated on this machine.",
            hint="Set KETACARE_AUDIT_KEY to the same key on every application server (copy "
            "it from that file), and back it up apart from the database.",
            id="ketacare.W001",
        )
    ]
