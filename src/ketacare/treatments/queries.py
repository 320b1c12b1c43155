"""Read-only questions other apps ask about the dosing day: what waits for a prescriber."""

from django.db.models import QuerySet

from ketacare.accounts.models import Clinic
from ketacare.treatments.models import SessionAlert, TreatmentSession


def open_session_alerts(clinic: Clinic) -> QuerySet[SessionAlert]:
    """Monitoring alerts not yet acknowledged, oldest first."""
    return (
        SessionAlert.objects.filter(session__clinic=clinic, acknowledged_at__isnull=True)
        .select_related("session__patient", "observation")
        .order_by("created_at", "pk")
    )


def gates_waiting(clinic: Clinic) -> QuerySet[TreatmentSession]:
    """Checked-in sessions whose pre-dose gate stopped dosing and that neither a repeat reading
    nor a prescriber has opened yet."""
    return (
        TreatmentSession.objects.filter(
            clinic=clinic,
            state=TreatmentSession.State.CHECKED_IN,
            gate_stopped_at__isnull=False,
            gate_cleared_at__isnull=True,
            gate_override_by__isnull=True,
        )
        .select_related("patient")
        .order_by("gate_stopped_at", "pk")
    )
