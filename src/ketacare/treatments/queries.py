"""Read-only questions about the dosing day: what the board and the session page show, and
what waits for a prescriber (asked by other apps too)."""

from datetime import date, datetime
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Count, Max, Prefetch, Q, QuerySet

from ketacare.accounts.models import Clinic
from ketacare.inventory.models import LedgerEntry
from ketacare.planning.models import PlannedSession, TreatmentPlan
from ketacare.treatments.models import Observation, SessionAlert, TreatmentSession

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class BoardAnnotations(TypedDict):
    open_alert_count: int
    last_monitoring_at: datetime | None


def board_sessions(
    clinic: Clinic, day: date
) -> "QuerySet[WithAnnotations[TreatmentSession, BoardAnnotations]]":
    """The day's sessions by chair, each with ``open_alert_count`` and ``last_monitoring_at``.
    What the board's readiness and next vital signs read is prefetched, so its queries do not
    grow with the sessions on it."""
    return (
        TreatmentSession.objects.filter(clinic=clinic, date=day)
        .select_related("patient", "plan", "dispense")
        # discharge_blockers reads the dispense's wastes and whether each was reversed.
        .prefetch_related(
            Prefetch("dispense__wastes", LedgerEntry.objects.select_related("reversed_by")),
            # And its observations and alerts: prefetched, the board's queries do not grow
            # with the sessions waiting for discharge.
            "observations",
            "alerts",
        )
        .annotate(
            open_alert_count=Count(
                "alerts", filter=Q(alerts__acknowledged_at__isnull=True), distinct=True
            ),
            last_monitoring_at=Max(
                "observations__taken_at",
                filter=Q(observations__phase=Observation.Phase.MONITORING),
            ),
        )
        .order_by("chair", "pk")
    )


def waiting_for_a_chair(clinic: Clinic, day: date) -> QuerySet[PlannedSession]:
    """The day's planned sessions of signed plans not yet on the board, by patient name, each
    with ``booked``: its appointment in the book (a list of none or one), time and chair."""
    from ketacare.scheduling.models import Appointment  # scheduling builds on treatments

    holding = Appointment.objects.filter(state__in=Appointment.HOLDING).select_related("chair")
    return (
        PlannedSession.objects.filter(
            plan__clinic=clinic,
            plan__state=TreatmentPlan.State.SIGNED,
            date=day,
            treatment__isnull=True,
        )
        .select_related("plan__patient")
        .prefetch_related(Prefetch("appointments", holding, to_attr="booked"))
        .order_by("plan__patient__family_name", "plan__patient__given_name", "pk")
    )


def sessions_of(clinic: Clinic) -> QuerySet[TreatmentSession]:
    """The clinic's sessions with everyone the session page names."""
    return TreatmentSession.objects.filter(clinic=clinic).select_related(
        "patient",
        "plan",
        "planned",
        "dispense__lot__product",
        "checked_in_by",
        "gate_override_by",
        "dose_changed_by",
        "discharged_by",
        "transferred_by",
        "transfer_decided_by",
    )


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
