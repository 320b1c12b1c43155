"""Read-only questions about reminders: a clinic's policy, who has stopped which channel,
the delivery log, and a patient's no-shows and late cancellations (for the chart)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, F, Q, QuerySet

from ketacare.accounts.models import Clinic
from ketacare.clinical.datafiles import load
from ketacare.patients.models import Patient
from ketacare.reminders.models import Delivery, OptOut, ReminderSettings
from ketacare.reminders.rules import Policy
from ketacare.scheduling.models import Appointment, AppointmentChange


def default_policy() -> Policy:
    """The defaults of ``data/reminders.toml``."""
    data = load("reminders", package="ketacare.reminders")
    return Policy(
        lead_hours=tuple(data["reminders"]["lead_hours"]),
        channels=tuple(data["reminders"]["channels"]),
        late_cancel_hours=data["late_cancellation"]["hours"],
    )


def _policy(row: ReminderSettings) -> Policy:
    return Policy(tuple(row.lead_hours), tuple(row.channels), row.late_cancel_hours)


def policy_for(clinic: Clinic | int) -> Policy:
    """The clinic's policy: its own settings, else the defaults."""
    clinic_id = clinic if isinstance(clinic, int) else clinic.pk
    row = ReminderSettings.objects.filter(clinic_id=clinic_id).first()
    return _policy(row) if row is not None else default_policy()


def clinic_policies() -> dict[int, Policy]:
    """Every clinic's own policy, by clinic id (one query); a clinic not in it uses
    ``default_policy``."""
    return {row.clinic_id: _policy(row) for row in ReminderSettings.objects.all()}


def stopped(patient_ids: Iterable[int]) -> set[tuple[int, str]]:
    """(patient id, channel) for each channel a patient has stopped: their latest opt-out
    row for it says stopped."""
    latest: dict[tuple[int, str], bool] = {}
    rows = OptOut.objects.filter(patient_id__in=list(patient_ids)).order_by("recorded_at", "id")
    for patient_id, channel, is_stopped in rows.values_list("patient_id", "channel", "stopped"):
        latest[(patient_id, channel)] = is_stopped
    return {key for key, is_stopped in latest.items() if is_stopped}


def recent_deliveries(clinic: Clinic, limit: int = 200) -> QuerySet[Delivery]:
    """The clinic's latest reminder deliveries, with their appointment and patient."""
    return Delivery.objects.filter(clinic=clinic).select_related("appointment__patient")[:limit]


@dataclass(frozen=True)
class Attendance:
    no_shows: int
    late_cancellations: int
    late_cancel_hours: int


def attendance(patient: Patient) -> Attendance:
    """How often the patient did not come, and cancelled less than the clinic's threshold
    before the start (the time the appointment had when it was cancelled). Both states are
    final, so each appointment counts once. Two queries: the policy, then the counts."""
    hours = policy_for(patient.clinic_id).late_cancel_hours
    state = Appointment.State
    late = Q(new_state=state.CANCELLED, changed_at__gt=F("new_start") - timedelta(hours=hours))
    counts = AppointmentChange.objects.filter(
        appointment__patient=patient, new_state__in=[state.NO_SHOW, state.CANCELLED]
    ).aggregate(
        no_shows=Count("appointment", filter=Q(new_state=state.NO_SHOW), distinct=True),
        late=Count("appointment", filter=late, distinct=True),
    )
    return Attendance(counts["no_shows"], counts["late"], hours)
