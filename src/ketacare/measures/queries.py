"""Read-only questions other apps ask about a patient's measures."""

from ketacare.accounts.models import Clinic
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


def open_alert_count(clinic: Clinic) -> int:
    """Everything on the safety alerts page that waits for a prescriber: questionnaire alerts,
    monitoring alerts and stopped pre-dose gates. One query (a UNION ALL of three indexed
    selections): the navigation shows it on every page."""
    from ketacare.treatments.queries import gates_waiting, open_session_alerts

    questionnaires = SafetyAlert.objects.filter(clinic=clinic, acknowledged_at__isnull=True)
    return (
        questionnaires.values("pk")
        .union(
            open_session_alerts(clinic).order_by().values("pk"),
            gates_waiting(clinic).order_by().values("pk"),
            all=True,
        )
        .count()
    )
