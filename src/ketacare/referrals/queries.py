"""Read-only questions other apps ask about referrals."""

from django.db.models import Prefetch, QuerySet

from ketacare.accounts.models import Clinic
from ketacare.referrals.models import Referral, ReferralAlert


def open_referral_alerts(clinic: Clinic) -> QuerySet[ReferralAlert]:
    """The clinic's referral alerts still waiting for a hand-off, newest first (one query)."""
    return (
        ReferralAlert.objects.filter(clinic=clinic, acknowledged_at__isnull=True)
        .select_related("referral")
        .order_by("-created_at")
    )


def referral_of(patient_id: int) -> Referral | None:
    """The referral a patient came through, with its alerts, for their chart (two queries:
    the referral, its alerts); None for a patient registered by staff."""
    return (
        Referral.objects.filter(patient_id=patient_id)
        .prefetch_related(
            Prefetch(
                "alerts",
                queryset=ReferralAlert.objects.select_related("acknowledged_by").order_by(
                    "created_at"
                ),
            )
        )
        .first()
    )
