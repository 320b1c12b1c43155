"""Read-only questions other apps ask about referrals."""

from django.db.models import QuerySet

from ketacare.accounts.models import Clinic
from ketacare.referrals.models import ReferralAlert


def open_referral_alerts(clinic: Clinic) -> QuerySet[ReferralAlert]:
    """The clinic's referral alerts still waiting for a hand-off, newest first (one query)."""
    return (
        ReferralAlert.objects.filter(clinic=clinic, acknowledged_at__isnull=True)
        .select_related("referral")
        .order_by("-created_at")
    )
