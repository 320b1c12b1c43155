"""The booking pages: book a plan's induction, one appointment's page (move it, confirm,
cancel, mark arrived or a no-show, record the ride home) and the day-before checklist. Thin:
each change is one action (``scheduling.actions``), whose refusal the page shows."""

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.accounts.models import Clinic
from ketacare.audit.record import Action, record
from ketacare.bounds import OutOfBounds, parse_date
from ketacare.planning.models import TreatmentPlan
from ketacare.scheduling import actions
from ketacare.scheduling.actions.series import propose
from ketacare.scheduling.doses import latest_signed_plans
from ketacare.scheduling.forms import CancelForm, MoveForm, SeriesForm
from ketacare.scheduling.gates import dosing_gates, gates_of
from ketacare.scheduling.models import Appointment, Chair, OpeningHours
from ketacare.scheduling.queries import checklist_day, plan_appointments
from ketacare.treatments.forms import form_errors
from ketacare.web.submit import attempted


@requires("scheduling.book")
def plan_book(request: KetacareRequest, plan_id: int) -> HttpResponse:
    """Book the induction: the proposal at the patient's preferred times ("preview" shows it
    again for the times entered), then one button books it."""
    clinic = request.actor.clinic
    assert clinic is not None
    plan = get_object_or_404(
        TreatmentPlan.objects.select_related("patient"), pk=plan_id, clinic=clinic
    )
    form = SeriesForm(request.POST if request.method == "POST" else None, clinic=clinic)
    valid = form.is_bound and form.is_valid()
    preference = form.preference() if valid else None
    if request.method == "POST" and valid and "preview" not in request.POST:
        result, refusal = attempted(
            request,
            lambda: actions.book_series(
                request.actor,
                plan.pk,
                preference=preference,
                staff_id=form.staff_id(),
                transport_arranged=form.cleaned_data["transport_arranged"],
            ),
            lambda r: f"Booked {len(r.booked)} session{'s' if len(r.booked) != 1 else ''}.",
        )
        if refusal is None:
            for unplaced in result.unplaced:
                messages.warning(request, unplaced.message)
            return redirect(reverse("plan-book", args=[plan.pk]))
    elif request.method == "POST":
        messages.error(request, form_errors(form))
    context: dict[str, Any] = {"plan": plan, "form": form, "zone": clinic.zone}
    context["booked"] = list(plan_appointments(plan))
    if plan.is_signed:
        sessions, proposal = propose(request.actor, plan, preference)
        chairs = dict(Chair.objects.filter(clinic=clinic).values_list("pk", "name"))
        unplaced = {u.session: u for u in proposal.unplaced}
        placed = iter(proposal.placed)
        rows = []
        for number, session in enumerate(sessions, start=1):
            booking = None if number in unplaced else next(placed)
            rows.append(
                {
                    "session": session,
                    "booking": booking,
                    "chair": chairs.get(booking.chair_id) if booking and booking.chair_id else "",
                    "unplaced": unplaced.get(number),
                }
            )
        context["rows"] = rows
        if sessions:
            transport = bool(valid and form.cleaned_data["transport_arranged"])
            first = proposal.placed[0].start if proposal.placed else timezone.now()
            context["gates"] = dosing_gates(
                clinic, plan.patient, plan, first, transport_arranged=transport
            )
    record(request.actor, Action.VIEW, obj=plan, object_type="booking", patient=plan.patient)
    return render(request, "scheduling/plan_book.html", context)


def _appointment(request: KetacareRequest, appointment_id: int) -> Appointment:
    return get_object_or_404(
        Appointment.objects.select_related(
            "patient", "chair", "staff", "planned__plan", "clinic", "treatment"
        ),
        pk=appointment_id,
        clinic=request.actor.clinic,
    )


@requires("scheduling.view")
def appointment_detail(request: KetacareRequest, appointment_id: int) -> HttpResponse:
    appointment = _appointment(request, appointment_id)
    zone = appointment.clinic.zone
    local = timezone.localtime(appointment.start, zone)
    move_form = MoveForm(
        initial={
            "day": local.date(),
            "start": local.time().replace(second=0, microsecond=0),
            "chair": str(appointment.chair_id or ""),
        },
        clinic=appointment.clinic,
    )
    record(request.actor, Action.VIEW, obj=appointment, patient=appointment.patient)
    return render(
        request,
        "scheduling/appointment.html",
        {
            "appointment": appointment,
            "zone": zone,
            "gates": gates_of(appointment),
            "history": appointment.changes.select_related("changed_by", "old_chair", "new_chair"),
            "move_form": move_form,
            "cancel_form": CancelForm(),
            "movable": appointment.state in Appointment.MOVABLE,
        },
    )


def _back(appointment_id: int) -> HttpResponse:
    return redirect(reverse("appointment-detail", args=[appointment_id]))


@requires("scheduling.book")
def appointment_move(request: KetacareRequest, appointment_id: int) -> HttpResponse:
    appointment = _appointment(request, appointment_id)
    if request.method != "POST":
        return _back(appointment.pk)
    form = MoveForm(request.POST, clinic=appointment.clinic)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return _back(appointment.pk)
    start, end = form.span(appointment.end - appointment.start)
    attempted(
        request,
        lambda: actions.reschedule(
            request.actor,
            appointment.pk,
            start=start,
            end=end,
            chair_id=form.chair_id(),
            reason=form.cleaned_data["reason"],
        ),
        "Moved.",
    )
    return _back(appointment.pk)


# What each state button does, and what it says when it is done.
STATE_ACTIONS = {
    "confirm": (actions.confirm, "Confirmed."),
    "arrived": (actions.mark_arrived, "Marked arrived."),
    "no_show": (actions.mark_no_show, "Marked as a no-show."),
}


@requires("scheduling.book")
def appointment_state(request: KetacareRequest, appointment_id: int) -> HttpResponse:
    appointment = _appointment(request, appointment_id)
    if request.method != "POST":
        return _back(appointment.pk)
    to = request.POST.get("to", "")
    if to == "cancel":
        form = CancelForm(request.POST)
        if not form.is_valid():
            messages.error(request, form_errors(form))
        else:
            reason = form.cleaned_data["reason"]
            attempted(
                request,
                lambda: actions.cancel(request.actor, appointment.pk, reason),
                "Cancelled.",
            )
    elif to in STATE_ACTIONS:
        act, said = STATE_ACTIONS[to]
        attempted(request, lambda: act(request.actor, appointment.pk), said)
    else:
        messages.error(request, "Unknown change of state.")
    return _back(appointment.pk)


@requires("scheduling.book")
def appointment_transport(request: KetacareRequest, appointment_id: int) -> HttpResponse:
    appointment = _appointment(request, appointment_id)
    if request.method != "POST":
        return _back(appointment.pk)
    arranged = request.POST.get("arranged") == "yes"
    attempted(
        request,
        lambda: actions.set_transport(request.actor, appointment.pk, arranged),
        "Transport home recorded." if arranged else "Transport home marked as not arranged.",
    )
    return _back(appointment.pk)


def next_open_day(clinic: Clinic, today: date) -> date:
    """The first day after ``today`` the clinic opens (tomorrow, if it has set no hours)."""
    open_days = set(OpeningHours.objects.filter(clinic=clinic).values_list("weekday", flat=True))
    return next(
        (
            today + timedelta(days=n)
            for n in range(1, 8)
            if (today + timedelta(days=n)).weekday() in open_days
        ),
        today + timedelta(days=1),
    )


@requires("scheduling.view")
def day_checklist(request: KetacareRequest) -> HttpResponse:
    """The day before: each appointment of the next day the clinic opens (or ``?day=``) with
    what it still lacks — a gate not passed, or the patient's confirmation."""
    clinic = request.actor.clinic
    assert clinic is not None
    today = timezone.localdate(timezone.now(), clinic.zone)
    try:
        day = parse_date(request.GET.get("day"), today, "The day")
    except OutOfBounds as error:
        messages.error(request, f"{error} Showing the next day.")
        day = None
    day = day or next_open_day(clinic, today)
    appointments = list(checklist_day(clinic, day))
    # The plans of doses outside a plan's sessions, for every patient at once.
    plans = latest_signed_plans(
        clinic.pk,
        (a.patient_id for a in appointments if a.kind == a.Kind.DOSING and a.planned_id is None),
    )
    rows = [
        {"appointment": a, "gates": gates_of(a, plans), "unconfirmed": a.state == a.State.BOOKED}
        for a in appointments
    ]
    return render(
        request,
        "scheduling/checklist.html",
        {
            "day": day,
            "zone": clinic.zone,
            "rows": rows,
            "to_do": sum(1 for r in rows if r["gates"] or r["unconfirmed"]),
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
        },
    )
