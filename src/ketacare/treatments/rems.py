"""The esketamine REMS Patient Monitoring Forms a clinic owes (clinical-reference §2): which
sessions need one, and when each is due. The form's content is ``rems_form``, filled from the
records by ``rems_fill``; recording its submission is an action (``rems_actions``)."""

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from ketacare.accounts.models import Clinic
from ketacare.clinical.protocols.library import PROTOCOL_IDS, get_protocol
from ketacare.clinical.session.rems import deadline as rems_deadline
from ketacare.treatments.models import ENDED, RemsSubmission, TreatmentSession

ESKETAMINE_PROTOCOLS = tuple(p for p in PROTOCOL_IDS if get_protocol(p).drug == "esketamine")


def rems_sessions(clinic: Clinic) -> QuerySet[TreatmentSession]:
    """The clinic's sessions that need a form: every esketamine session discharged or
    transferred to emergency care."""
    return TreatmentSession.objects.filter(
        clinic=clinic,
        state__in=ENDED,
        plan__protocol_id__in=ESKETAMINE_PROTOCOLS,
    )


def no_form_reason(session: TreatmentSession) -> str:
    """Why this session has no Patient Monitoring Form; empty when it has one."""
    if session.plan.protocol_id not in ESKETAMINE_PROTOCOLS:
        return "Only esketamine sessions have a REMS Patient Monitoring Form."
    if session.state not in ENDED:
        return (
            "The REMS Patient Monitoring Form is ready once the patient is discharged "
            "(or transferred to emergency care)."
        )
    return ""


def treatment_date(session: TreatmentSession) -> date:
    """The day the dose was given (the planned day if no dose time was recorded)."""
    if session.dose_started_at is None:
        return session.date
    return timezone.localtime(session.dose_started_at).date()


def deadline(session: TreatmentSession) -> date:
    return rems_deadline(treatment_date(session))


@dataclass(frozen=True)
class DashboardRow:
    session: TreatmentSession
    treatment_date: date
    deadline: date
    submission: RemsSubmission | None
    days_left: int  # negative once overdue

    @property
    def overdue(self) -> bool:
        return self.submission is None and self.days_left < 0

    @property
    def days_overdue(self) -> int:
        return max(0, -self.days_left)


def dashboard_row(session: TreatmentSession, today: date) -> DashboardRow:
    due = deadline(session)
    return DashboardRow(
        session=session,
        treatment_date=treatment_date(session),
        deadline=due,
        submission=getattr(session, "rems_submission", None),
        days_left=(due - today).days,
    )
