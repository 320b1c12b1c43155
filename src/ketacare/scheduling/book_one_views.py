"""Book one appointment from a page (``/schedule/new/?patient=&day=``): an evaluation, a
dose, a follow-up or a telehealth call. Thin: ``actions.book`` judges and writes, and its
refusal is shown next to the form. For a dose the page also shows the day's free slots for
the patient's protocol and the gates the patient has not passed, so a coordinator sees where
the dose fits and what it still lacks before asking."""

from datetime import date, datetime, time
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.accounts.models import Clinic
from ketacare.audit.record import Action, record
from ketacare.bounds import OutOfBounds, parse_date, parse_id
from ketacare.clinical.protocols.library import Protocol, get_protocol
from ketacare.patients.models import Patient
from ketacare.patients.search import ORDER, search
from ketacare.planning.models import PlannedSession, TreatmentPlan
from ketacare.scheduling import actions, rules
from ketacare.scheduling.book_one_forms import BookOneForm
from ketacare.scheduling.context import booking_context, window
from ketacare.scheduling.doses import latest_signed_plans
from ketacare.scheduling.gates import Gate, dosing_gates
from ketacare.scheduling.models import Appointment

Kind = Appointment.Kind
# Quick-pick slots shown for a dose: enough to see the shape of the day, few enough to scan.
SHOWN_SLOTS = 12
# Patients listed for a search: the name or MRN typed narrows it; a longer list is not read.
SHOWN_PATIENTS = 20


def _clinic_patient(clinic: Clinic, raw: str | None) -> Patient | None:
    """The clinic's patient with id ``raw``; None for no id, a malformed one or another
    clinic's (which is "not found", so ids reveal nothing)."""
    pk = parse_id(raw)
    return Patient.objects.filter(pk=pk, clinic=clinic).first() if pk is not None else None


def _signed_plan(clinic: Clinic, patient: Patient) -> TreatmentPlan | None:
    """The latest signed plan: the one a dose outside a planned session is given under
    (``scheduling.doses``), so the page offers the same protocol the action judges."""
    return latest_signed_plans(clinic.pk, [patient.pk]).get(patient.pk)


def _open_sessions(plan: TreatmentPlan | None) -> list[PlannedSession]:
    """The plan's sessions neither booked (no appointment holds them) nor on the chair
    board, in order."""
    if plan is None:
        return []
    held = Appointment.objects.filter(state__in=Appointment.HOLDING).values("planned_id")
    return list(
        plan.sessions.select_related("plan")
        .filter(treatment__isnull=True)
        .exclude(pk__in=held)
        .order_by("number"),
    )


def _time(raw: str | None) -> time | None:
    try:
        return time.fromisoformat((raw or "").strip()[:5])
    except ValueError:
        return None


def _initial(
    request: KetacareRequest, today: date, plan: TreatmentPlan | None, sessions: list[Any]
) -> dict[str, Any]:
    """What the form starts with: the query string's day, kind, start and chair (the
    quick-pick links fill the last two), else today and, for a patient with a signed plan, a
    dose of its next session."""
    try:
        day = parse_date(request.GET.get("day"), today, "The day") or today
    except OutOfBounds as error:
        messages.error(request, f"{error} Showing today.")
        day = today
    kind = request.GET.get("kind", "")
    if kind not in Kind.values:
        kind = Kind.DOSING if plan is not None else Kind.EVALUATION
    initial: dict[str, Any] = {"day": day, "kind": kind}
    if kind == Kind.DOSING and sessions:
        initial["planned"] = str(sessions[0].pk)
    start = _time(request.GET.get("start"))
    if start is not None:
        initial["start"] = start
    if parse_id(request.GET.get("chair")) is not None:
        initial["chair"] = request.GET["chair"]
    return initial


def _shown(form: BookOneForm, name: str) -> Any:
    """A field's value as the page now shows it: as posted and valid, else as it started."""
    if form.is_bound:
        return getattr(form, "cleaned_data", {}).get(name)
    return form.initial.get(name)


def _free_slots(
    clinic: Clinic, patient: Patient, protocol: Protocol, day: date
) -> tuple[list[dict[str, Any]], int]:
    """The day's free dose slots for the patient, one per start time (its first free chair):
    at most ``SHOWN_SLOTS`` of them, spread evenly over the day so that the afternoon shows
    too, and how many start times are free in all."""
    context = booking_context(clinic, *window(clinic, day, day))
    chairs = {c.id: c.name for c in context.resources.chairs}
    by_start: dict[datetime, rules.Booking] = {}
    for slot in rules.free_slots(day, protocol, patient.pk, context):
        by_start.setdefault(slot.start, slot)
    free = list(by_start.values())
    # The step (a ceiling, at least 1) that keeps SHOWN_SLOTS or fewer.
    every = max(1, -(-len(free) // SHOWN_SLOTS))
    shown = [
        {
            "start": timezone.localtime(slot.start, clinic.zone),
            "end": timezone.localtime(slot.end, clinic.zone),
            "chair_id": slot.chair_id,
            "chair": chairs.get(slot.chair_id or 0, ""),
        }
        for slot in free[::every]
    ]
    return shown, len(free)


def _gates(
    clinic: Clinic, patient: Patient, form: BookOneForm, sessions: list[PlannedSession]
) -> list[Gate]:
    """The gates of the dose as the form now reads, judged as booking it would judge them."""
    chosen = str(_shown(form, "planned") or "")
    planned = next((s for s in sessions if str(s.pk) == chosen), None)
    day, start = _shown(form, "day"), _shown(form, "start")
    if day is None:
        return []
    # A dose outside the plan's sessions is gated under the latest signed plan, as booking
    # it is (gates.dose_plan).
    plan = planned.plan if planned is not None else _signed_plan(clinic, patient)
    moment = datetime.combine(day, start or time(12), tzinfo=clinic.zone)
    arranged = bool(_shown(form, "transport_arranged"))
    return dosing_gates(clinic, patient, plan, moment, transport_arranged=arranged)


def _find_patient(request: KetacareRequest, clinic: Clinic, today: date) -> HttpResponse:
    """No patient chosen yet: a search by name or MRN among the clinic's patients."""
    # Printable characters only, as the patient list reads its query.
    query = "".join(ch for ch in request.GET.get("q", "") if ch.isprintable()).strip()[:100]
    found: list[Patient] = []
    if query:
        patients = Patient.objects.filter(clinic=clinic).only(
            "id", "mrn", "given_name", "family_name", "search_family", "search_given"
        )
        found = list(search(patients, query, today).order_by(*ORDER)[:SHOWN_PATIENTS])
        record(request.actor, Action.SEARCH, object_type="patient", changes={"query": query})
    context = {"query": query, "found": found, "day": request.GET.get("day", "")[:10]}
    return render(request, "scheduling/book_one.html", context)


@requires("scheduling.book")
def appointment_new(request: KetacareRequest) -> HttpResponse:
    clinic = request.actor.clinic
    assert clinic is not None  # requires() admits members of a clinic only
    today = timezone.localdate(timezone.now(), clinic.zone)
    posted = request.method == "POST"
    raw_patient = (request.POST if posted else request.GET).get("patient")
    patient = _clinic_patient(clinic, raw_patient)
    if patient is None:
        if raw_patient:
            messages.error(request, "Unknown patient: no patient with that id at this clinic.")
        return _find_patient(request, clinic, today)
    plan = _signed_plan(clinic, patient)
    protocol = get_protocol(plan.protocol_id) if plan is not None else None
    care = rules.care_minutes(protocol) if protocol is not None else None
    sessions = _open_sessions(plan)
    initial = _initial(request, today, plan, sessions)
    if initial["kind"] == Kind.DOSING and care is not None:
        initial["length"] = care
    form = BookOneForm(
        request.POST if posted else None,
        initial=initial,
        clinic=clinic,
        sessions=sessions,
        care_minutes=care,
    )
    if posted and form.is_valid():
        start, end = form.span()
        data = form.cleaned_data
        try:
            appointment = actions.book(
                request.actor,
                patient_id=patient.pk,
                kind=data["kind"],
                start=start,
                end=end,
                chair_id=form.chosen("chair"),
                staff_id=form.chosen("staff"),
                planned_id=form.chosen("planned"),
                transport_arranged=data["transport_arranged"],
            )
        except actions.SchedulingError as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, "Booked.")
            return redirect(reverse("appointment-detail", args=[appointment.pk]))
    day = _shown(form, "day") or initial["day"]
    dosing = (_shown(form, "kind") or initial["kind"]) == Kind.DOSING
    context: dict[str, Any] = {
        "patient": patient,
        "plan": plan,
        "protocol": protocol,
        "form": form,
        "day": day,
        "zone": clinic.zone,
        "dosing": dosing,
    }
    if dosing and protocol is not None:
        context["slots"], context["free_count"] = _free_slots(clinic, patient, protocol, day)
        context["gates"] = _gates(clinic, patient, form, sessions)
    record(request.actor, Action.VIEW, obj=patient, object_type="booking", patient=patient)
    return render(request, "scheduling/book_one.html", context)
