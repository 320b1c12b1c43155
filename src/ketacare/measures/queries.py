"""Read-only questions other apps ask about a patient's measures."""

from ketacare.measures.models import SafetyAlert
from ketacare.patients.models import Patient


def open_alert_summary(patient: Patient) -> str | None:
    """The patient's open safety alerts in words, oldest first, or None when there are none:
    e.g. "QIDS-SR16 item 12 (thoughts of death or suicide) = 2 on 2026-12-05". For messages to
    staff (the check-in refusal); it names the answer, so it is not for the patient's channels."""
    alerts = (
        SafetyAlert.objects.filter(patient=patient, acknowledged_at__isnull=True)
        .select_related("response")
        .order_by("created_at", "pk")
    )
    findings = [alert.finding for alert in alerts]
    return "; ".join(findings) or None
