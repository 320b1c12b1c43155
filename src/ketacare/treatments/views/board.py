"""The chair board: a day's sessions by chair, with how long since each dose, the next vital
signs and who is ready to go, refreshed by htmx; and putting a planned session on it."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.accounts.models import Clinic
from ketacare.bounds import OutOfBounds, parse_date
from ketacare.clinical.protocols.library import Protocol
from ketacare.clinical.session.due import VitalsDue, minutes_since
from ketacare.treatments import actions, due
from ketacare.treatments.actions import protocol_of
from ketacare.treatments.forms import OpenSessionForm, form_errors
from ketacare.treatments.models import TreatmentSession
from ketacare.treatments.queries import board_sessions, waiting_for_a_chair
from ketacare.web.submit import attempted


@dataclass(frozen=True)
class BoardRow:
    session: TreatmentSession
    protocol: Protocol
    ready: bool
    minutes: int | None
    due: VitalsDue | None
    open_alerts: int


def board_day(request: HttpRequest, value: str | None) -> date:
    """The board's day from ``?date=``: today when absent, or (with a message) when it is
    not a date ketacare accepts."""
    today = timezone.localdate()
    try:
        return parse_date(value, today, "The board's date") or today
    except OutOfBounds as error:
        messages.error(request, f"{error} Showing today.")
        return today


def board_url(day: date) -> str:
    return f"{reverse('chair-board')}?{urlencode({'date': day.isoformat()})}"


def board_rows(clinic: Clinic, day: date, now: datetime) -> list[BoardRow]:
    rows = []
    for session in board_sessions(clinic, day):
        protocol = protocol_of(session)
        rows.append(
            BoardRow(
                session=session,
                protocol=protocol,
                ready=due.ready(session, protocol, session.open_alert_count, now),
                minutes=minutes_since(due.dosed_at(session), now),
                due=due.vitals_due(session, protocol, session.last_monitoring_at, now),
                open_alerts=session.open_alert_count,
            )
        )
    return rows


@requires("treatments.view")
def board(request: KetacareRequest) -> HttpResponse:
    """Today's sessions by chair. htmx polls this view for the table alone."""
    day = board_day(request, request.GET.get("date"))
    now = timezone.now()
    context: dict[str, Any] = {
        "day": day,
        "today": timezone.localdate(),
        "rows": board_rows(request.actor.clinic, day, now),
        "now": now,
        "board_url": board_url(day),
        # The booked times of the waiting list, on the clinic's clock as the book shows them.
        "zone": request.actor.clinic.zone,
    }
    if request.headers.get("HX-Request"):
        response = render(request, "treatments/_board_table.html", context)
    else:
        context["waiting"] = waiting_for_a_chair(request.actor.clinic, day)
        context["previous_day"] = day - timedelta(days=1)
        context["next_day"] = day + timedelta(days=1)
        response = render(request, "treatments/board.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@requires("treatments.run")
def session_open(request: KetacareRequest) -> HttpResponse:
    day = board_day(request, request.POST.get("date"))
    if request.method != "POST":
        return redirect("chair-board")
    form = OpenSessionForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return redirect(board_url(day))
    session, refusal = attempted(
        request,
        lambda: actions.open_session(
            request.actor, form.cleaned_data["planned"], form.cleaned_data["chair"]
        ),
        lambda s: f"{s.patient.full_name} is on the board in {s.chair}.",
    )
    if refusal is not None:
        return redirect(board_url(day))
    return redirect(board_url(session.date))
