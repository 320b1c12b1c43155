"""The esketamine REMS Patient Monitoring Forms: which are due, each form on screen, as a
printable page and as a PDF, and the record that it was submitted. Views parse and
authorize; which forms are due comes from ``rems``, the form's content from ``rems_fill``, the
PDF from ``rems_pdf``, the recording from ``rems_actions``. Every printed page and PDF is an
export of a patient's record and is audited."""

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.audit.record import Action, record
from ketacare.clinical.session.rems import deadline_days
from ketacare.treatments import rems
from ketacare.treatments.forms import RemsSubmissionForm
from ketacare.treatments.models import TreatmentSession
from ketacare.treatments.rems_actions import record_rems_submission
from ketacare.treatments.rems_fill import monitoring_form
from ketacare.treatments.rems_form import TITLE, staff_name
from ketacare.treatments.rems_pdf import monitoring_pdf
from ketacare.web.submit import submitted

SUBMITTED_SHOWN = 50  # the most recent submissions under the open forms
SCREEN, PRINT, PDF = "screen", "print", "pdf"


def _session(request: KetacareRequest, session_id: int) -> TreatmentSession:
    # Another clinic's session is "not found", never "forbidden": ids reveal nothing.
    queryset = TreatmentSession.objects.select_related(
        "patient", "plan", "rems_submission__submitted_by"
    )
    return get_object_or_404(queryset, pk=session_id, clinic=request.actor.clinic)


@requires("treatments.rems")
def dashboard(request: KetacareRequest) -> HttpResponse:
    """Forms not yet submitted, overdue first then due soonest; then recent submissions."""
    today = timezone.localdate()
    sessions = rems.rems_sessions(request.actor.clinic).select_related(
        "patient", "rems_submission__submitted_by"
    )
    # The deadline follows the dose day, so dose order is deadline order.
    open_forms = sessions.filter(rems_submission__isnull=True).order_by("dose_started_at", "pk")
    submitted = sessions.filter(rems_submission__isnull=False).order_by(
        "-rems_submission__submitted_at", "-pk"
    )[:SUBMITTED_SHOWN]
    return render(
        request,
        "treatments/rems/dashboard.html",
        {
            "open_rows": [rems.dashboard_row(s, today) for s in open_forms],
            "submitted_rows": [rems.dashboard_row(s, today) for s in submitted],
            "submitted_shown": SUBMITTED_SHOWN,
            "deadline_days": deadline_days(),
        },
    )


@requires("treatments.rems")
def form(request: KetacareRequest, session_id: int) -> HttpResponse:
    session = _session(request, session_id)
    missing = rems.no_form_reason(session)
    if missing:
        messages.error(request, missing)
        return redirect("rems-dashboard")
    fmt = request.GET.get("format", SCREEN)
    submission_form = RemsSubmissionForm(request.POST or None)
    done, _ = submitted(
        request,
        submission_form,
        lambda data: record_rems_submission(request.actor, session.pk, data["reference"]),
        "REMS form recorded as submitted.",
    )
    if done:
        return redirect("rems-form", session_id=session.pk)
    monitoring = monitoring_form(session)
    context: dict[str, Any] = {
        "session": session,
        "patient": session.patient,
        "rems_form": monitoring,
        "row": rems.dashboard_row(session, timezone.localdate()),
        "title": TITLE,
        "deadline_days": deadline_days(),
    }
    if request.method == "POST" or fmt not in (PRINT, PDF):
        record(
            request.actor,
            Action.VIEW,
            obj=session,
            patient=session.patient,
            changes={"page": "rems_form"},
        )
        context["submission_form"] = submission_form
        return render(request, "treatments/rems/form.html", context)
    record(
        request.actor,
        Action.EXPORT,
        obj=session,
        patient=session.patient,
        changes={"report": "rems_monitoring_form", "format": fmt},
    )
    printed_at = timezone.now()
    printed_by = staff_name(request.actor.user)
    if fmt == PDF:
        response = HttpResponse(
            monitoring_pdf(monitoring, printed_at=printed_at, printed_by=printed_by),
            content_type="application/pdf",
        )
        filename = f"rems-{monitoring.mrn}-{monitoring.treatment_date:%Y%m%d}.pdf"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    context.update(printed_at=printed_at, printed_by=printed_by)
    return render(request, "treatments/rems/print.html", context)
