"""How many public submissions one client address may make, counted in the database."""

import hashlib
import hmac
from datetime import datetime, timedelta

from django.conf import settings

from ketacare.clinical.datafiles import load
from ketacare.referrals.models import SubmissionAttempt


class RateLimited(Exception):
    """Too many submissions from this address lately: nothing is written."""


def address_digest(ip: str | None) -> str:
    """A keyed digest of the address: the table holds no address a reader could use."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, (ip or "unknown").encode(), hashlib.sha256).hexdigest()


def take_slot(ip: str | None, now: datetime) -> None:
    """Count one submission from ``ip`` at ``now``, or raise RateLimited if the address has
    used up its submissions in the window. Call inside the writing transaction: a submission
    that rolls back is not counted."""
    limit = load("referrals", "ketacare.referrals")["rate_limit"]
    digest = address_digest(ip)
    since = now - timedelta(minutes=limit["window_minutes"])
    used = SubmissionAttempt.objects.filter(address_digest=digest, at__gt=since).count()
    if used >= limit["submissions"]:
        raise RateLimited("Too many submissions from this address")
    SubmissionAttempt.objects.create(address_digest=digest, at=now)
