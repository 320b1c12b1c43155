"""The esketamine REMS Patient Monitoring Forms: which are due, each form on screen, as a
printable page and as a PDF, and the record that it was submitted. Views parse and
authorize; the form's content comes from ``rems``, the recording from ``rems_actions``.
Every printed page and PDF is an export of a patient's record and is audited."""

import unicodedata
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from ketacare.accounts.access import requires
from ketacare.audit.record import Action, record
from ketacare.treatments import rems
from ketacare.treatments.models import TreatmentSession
from ketacare.treatments.rems import RemsForm
from ketacare.treatments.rems_actions import REFERENCE_MAX, RemsError, record_rems_submission

SUBMITTED_SHOWN = 50  # the most recent submissions under the open forms
SCREEN, PRINT, PDF = "screen", "print", "pdf"
TITLE = "Spravato (esketamine) REMS: Patient Monitoring Form"


class SubmissionForm(forms.Form):
    reference = forms.CharField(
        label="REMS portal confirmation reference",
        max_length=REFERENCE_MAX,
        help_text="Submit the form on the REMS portal first, then type the reference it gave.",
    )


def _session(request: HttpRequest, session_id: int) -> TreatmentSession:
    # Another clinic's session is "not found", never "forbidden": ids reveal nothing.
    queryset = TreatmentSession.objects.select_related(
        "patient", "plan", "rems_submission__submitted_by"
    )
    return get_object_or_404(queryset, pk=session_id, clinic=request.actor.clinic)


@requires("treatments.rems")
def dashboard(request: HttpRequest) -> HttpResponse:
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
            "deadline_days": rems.DEADLINE_DAYS,
        },
    )


@requires("treatments.rems")
def form(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _session(request, session_id)
    missing = rems.no_form_reason(session)
    if missing:
        messages.error(request, missing)
        return redirect("rems-dashboard")
    fmt = request.GET.get("format", SCREEN)
    submission_form = SubmissionForm(request.POST or None)
    if request.method == "POST" and submission_form.is_valid():
        try:
            record_rems_submission(
                request.actor, session.pk, submission_form.cleaned_data["reference"]
            )
        except RemsError as error:
            submission_form.add_error(None, str(error))
        else:
            messages.success(request, "REMS form recorded as submitted.")
            return redirect("rems-form", session_id=session.pk)
    monitoring = rems.monitoring_form(session)
    context: dict[str, Any] = {
        "session": session,
        "patient": session.patient,
        "rems_form": monitoring,
        "row": rems.dashboard_row(session, timezone.localdate()),
        "title": TITLE,
        "deadline_days": rems.DEADLINE_DAYS,
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
    printed_by = rems.staff_name(request.actor.user)
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


# --- PDF --------------------------------------------------------------------------------------

# The PDF's built-in fonts hold Latin-1 only; other characters are spelled out or replaced.
_SPELLED = str.maketrans(
    {
        "≤": "<=",
        "≥": ">=",
        "—": "-",
        "–": "-",
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "…": "...",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "ı": "i",
        "Œ": "OE",
        "œ": "oe",
    }
)


def latin1(text: str) -> tuple[str, bool]:
    """(the text in Latin-1, whether a character had to be replaced by "?")."""
    text = text.translate(_SPELLED)
    out, lost = [], False
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        if base and all(ord(c) < 256 for c in base):
            out.append(base)
        else:
            out.append("?")
            lost = True
    return "".join(out), lost


def monitoring_pdf(
    monitoring: RemsForm, *, printed_at: datetime, printed_by: str, compress: bool = True
) -> bytes:
    """The form's fields as a PDF: the same lines as the printable page."""
    pdf = FPDF(format="Letter")
    pdf.set_compression(compress)
    pdf.set_title(TITLE)
    pdf.set_margins(15, 15)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    lost = False

    def text(value: str) -> str:
        nonlocal lost
        clean, missing = latin1(value)
        lost = lost or missing
        return clean

    def paragraph(value: str, size: float, style: str = "", height: float = 5) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(0, height, text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    paragraph(TITLE, 13, "B", 6)
    paragraph(
        f"Treatment {monitoring.treatment_date:%Y-%m-%d}. Submit on the REMS portal by "
        f"{monitoring.deadline:%Y-%m-%d} ({rems.DEADLINE_DAYS} days). MRN {monitoring.mrn}.",
        9,
    )
    value_style = FontFace(emphasis="BOLD")
    note_style = FontFace(emphasis="ITALICS", size_pt=7.5)
    for section in monitoring.sections():
        pdf.ln(2)
        paragraph(section.title, 10, "B", 5)
        if section.note:
            paragraph(section.note, 7.5, "I", 4)
        pdf.set_font("Helvetica", "", 8.5)
        with pdf.table(
            col_widths=(60, 50, 76),
            first_row_as_headings=False,
            borders_layout="HORIZONTAL_LINES",
            text_align="LEFT",
            v_align="TOP",
            line_height=4,
            padding=0.8,
        ) as table:
            for line in section.lines:
                row = table.row()
                row.cell(text(line.label))
                row.cell(text(line.value), style=value_style)
                row.cell(text(line.note), style=note_style)
    pdf.ln(4)
    printed = timezone.localtime(printed_at)
    paragraph(f"Printed {printed:%Y-%m-%d %H:%M} by {printed_by} from ketacare.", 8, "I", 4)
    if lost:
        paragraph(
            "Some characters cannot be shown in this PDF and appear as '?': the printable page "
            "has the exact text.",
            8,
            "B",
            4,
        )
    return bytes(pdf.output())
