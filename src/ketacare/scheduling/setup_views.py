"""The appointment book's setup pages: the clinic admin's chairs, opening hours and closures
(``/schedule/setup/``) and the week's rota with absences (``/schedule/rota/``), and a patient's
payers' authorisations for those who book. Thin: each change is one action
(``scheduling.actions``), whose refusal the page shows among the form's errors; each page
reads a fixed number of queries however many chairs, closures or shifts there are."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.contrib import messages
from django.forms import BaseForm
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.accounts.models import Clinic, Membership
from ketacare.accounts.permissions import PERMISSIONS
from ketacare.audit.record import Action, record
from ketacare.bounds import parse_id
from ketacare.patients.models import Patient
from ketacare.scheduling import actions
from ketacare.scheduling.calendar import DAYS, monday_of, week_bounds
from ketacare.scheduling.calendar_views import week_from, week_navigation
from ketacare.scheduling.models import Appointment, Chair, Closure, OpeningHours, Shift
from ketacare.scheduling.setup_forms import (
    AbsenceForm,
    AuthorisationForm,
    ChairForm,
    ClosureForm,
    NewChairForm,
    OpeningHoursForm,
    ShiftForm,
)
from ketacare.treatments.forms import form_errors
from ketacare.web.submit import Said, submitted


def _not_saved(request: KetacareRequest, form: BaseForm) -> None:
    """Say so at the top of the page too: the form with its errors may be far down it."""
    if form.is_bound and not form.is_valid():
        messages.error(request, form_errors(form))  # type: ignore[arg-type]


def _moved(what: str, moved: Sequence[Appointment], day: date) -> Said:
    """What a closure or an absence did to the book, with the way to what now needs rebooking
    (the day page lists it whatever the day)."""
    if not moved:
        return f"{what} No appointment needed rebooking."
    count = f"{len(moved)} appointment{'s' if len(moved) != 1 else ''}"
    return messages.WARNING, format_html(
        '{} {} moved to needs rebooking: <a href="{}?day={}">rebook them from the day page</a>.',
        what,
        count,
        reverse("schedule-day"),
        day.isoformat(),
    )


@requires("scheduling.setup")
def setup_page(request: KetacareRequest) -> HttpResponse:
    """The clinic's chairs (add, edit, retire), its weekly opening hours, and its upcoming
    closures with the form that adds one."""
    clinic = request.actor.clinic
    chairs = list(Chair.objects.filter(clinic=clinic).order_by("name", "pk"))
    hours = OpeningHours.objects.filter(clinic=clinic)
    post = request.POST if request.method == "POST" else None
    do = post.get("do") if post is not None else None
    new_chair = NewChairForm(post if do == "add_chair" else None, prefix="new")
    edited = parse_id(post.get("chair")) if post is not None and do == "edit_chair" else None
    chair_forms = [ChairForm.of(c, post if c.pk == edited else None) for c in chairs]
    hours_form = OpeningHoursForm(post if do == "hours" else None, hours=hours)
    closure_form = ClosureForm(post if do == "closure" else None, clinic=clinic, chairs=chairs)
    done = False
    if do == "add_chair":
        done, _ = submitted(
            request,
            new_chair,
            lambda d: actions.add_chair(request.actor, d["name"], d["capabilities"]),
            lambda chair: f"{chair.name} added.",
        )
        _not_saved(request, new_chair)
    elif do == "edit_chair":
        form = next((f for f in chair_forms if f.is_bound), None)
        if form is None:
            # No chair of this clinic has that id (another clinic's, or no number at all):
            # said as the action says it, without asking it.
            messages.error(request, "Unknown chair.")
        else:
            done, _ = submitted(
                request,
                form,
                lambda d: actions.edit_chair(
                    request.actor,
                    edited or 0,
                    name=d["name"],
                    capabilities=d["capabilities"],
                    active=d["active"],
                ),
                lambda chair: f"{chair.name} saved.",
            )
            _not_saved(request, form)
    elif do == "hours":
        done, _ = submitted(
            request,
            hours_form,
            lambda _: actions.set_opening_hours(request.actor, hours_form.hours()),
            "Opening hours saved.",
        )
        _not_saved(request, hours_form)
    elif do == "closure":
        done, _ = submitted(
            request,
            closure_form,
            lambda d: actions.add_closure(
                request.actor,
                start=d["start"],
                end=d["end"],
                reason=d["reason"],
                chair_id=closure_form.chair_id(),
            ),
            lambda result: _moved(
                "Closure added.", result[1], timezone.localdate(result[0].start, clinic.zone)
            ),
        )
        _not_saved(request, closure_form)
    elif post is not None:
        messages.error(request, "Unknown change: nothing was saved.")
    if done or (post is not None and do not in ("add_chair", "edit_chair", "hours", "closure")):
        return redirect(reverse("schedule-setup"))
    closures = (
        Closure.objects.filter(clinic=clinic, end__gt=timezone.now())
        .select_related("chair")
        .order_by("start", "pk")
    )
    context: dict[str, Any] = {
        "zone": clinic.zone,
        "chairs": list(zip(chairs, chair_forms, strict=True)),
        "new_chair": new_chair,
        "hours_form": hours_form,
        "closure_form": closure_form,
        "closures": closures,
    }
    return render(request, "scheduling/setup/setup.html", context)


def _members(clinic: Clinic) -> list[Membership]:
    """The clinic's active staff who work with the book (not researchers), by name: who may
    be on the rota (one query)."""
    return list(
        Membership.objects.filter(
            clinic=clinic,
            active=True,
            user__is_active=True,
            role__in=[str(role) for role in PERMISSIONS["scheduling.view"]],
        )
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
    )


def _rota(clinic: Clinic, monday: date, members: list[Membership]) -> list[dict[str, Any]]:
    """A row per staff member with a shift that week or a place on the rota, and their shifts
    on each of the seven days (by the day a shift starts on the clinic's clock): one query."""
    start, end = week_bounds(clinic, monday)
    shifts = (
        Shift.objects.filter(clinic=clinic, start__lt=end, end__gt=start)
        .select_related("staff")
        .order_by("start", "pk")
    )
    rows: dict[int, dict[str, Any]] = {
        m.user_id: {
            "member": m.user,
            "role": m.get_role_display(),
            "days": [[] for _ in range(DAYS)],
        }
        for m in members
    }
    for shift in shifts:
        row = rows.setdefault(
            shift.staff_id, {"member": shift.staff, "role": "", "days": [[] for _ in range(DAYS)]}
        )
        index = (timezone.localtime(shift.start, clinic.zone).date() - monday).days
        row["days"][min(max(index, 0), DAYS - 1)].append(shift)
    return list(rows.values())


def _rota_url(day: date) -> str:
    return f"{reverse('schedule-rota')}?week={monday_of(day).isoformat()}"


@requires("scheduling.setup")
def rota_page(request: KetacareRequest) -> HttpResponse:
    """The week's shifts per staff member (``?week=``, any day of it), a form that adds a
    shift and one that records an absence, which reports what it moved to needs rebooking."""
    clinic = request.actor.clinic
    monday = week_from(request)
    members = _members(clinic)
    post = request.POST if request.method == "POST" else None
    do = post.get("do") if post is not None else None
    shift_form = ShiftForm(post if do == "shift" else None, clinic=clinic, members=members)
    absence_form = AbsenceForm(post if do == "absence" else None, clinic=clinic, members=members)
    back = _rota_url(monday)
    done = False
    if do == "shift":

        def add_shift(_: object) -> Shift:
            start, end = shift_form.span()
            return actions.add_shift(
                request.actor, staff_id=shift_form.staff_id(), start=start, end=end
            )

        done, shift = submitted(request, shift_form, add_shift, "Shift added.")
        if done:  # to the week of the new shift
            back = _rota_url(timezone.localdate(shift.start, clinic.zone))
        _not_saved(request, shift_form)
    elif do == "absence":
        done, _ = submitted(
            request,
            absence_form,
            lambda d: actions.record_absence(
                request.actor,
                staff_id=absence_form.staff_id(),
                start=d["start"],
                end=d["end"],
                reason=d["reason"],
            ),
            lambda moved: _moved(
                "Absence recorded; their shifts then are cut.",
                moved,
                timezone.localdate(absence_form.cleaned_data["start"], clinic.zone),
            ),
        )
        if done:
            back = _rota_url(timezone.localdate(absence_form.cleaned_data["start"], clinic.zone))
        _not_saved(request, absence_form)
    elif post is not None:
        messages.error(request, "Unknown change: nothing was saved.")
        return redirect(back)
    if done:
        return redirect(back)
    context: dict[str, Any] = {
        **week_navigation(clinic, monday),
        "rows": _rota(clinic, monday, members),
        "shift_form": shift_form,
        "absence_form": absence_form,
    }
    return render(request, "scheduling/setup/rota.html", context)


@requires("scheduling.book")
def patient_authorisations(request: KetacareRequest, pk: int) -> HttpResponse:
    """A patient's payers' authorisations, newest first, and the form that records one (the
    "authorisation" gate of a booking points here)."""
    clinic = request.actor.clinic
    patient = get_object_or_404(Patient, pk=pk, clinic=clinic)
    form = AuthorisationForm(request.POST if request.method == "POST" else None)
    done, _ = submitted(
        request,
        form,
        lambda d: actions.record_authorisation(request.actor, patient_id=patient.pk, **d),
        "Authorisation recorded.",
    )
    if done:
        return redirect(reverse("patient-authorisations", args=[patient.pk]))
    _not_saved(request, form)
    authorisations = patient.authorisations.filter(clinic=clinic).select_related("recorded_by")
    record(request.actor, Action.VIEW, obj=patient, object_type="authorisations", patient=patient)
    return render(
        request,
        "scheduling/setup/authorisations.html",
        {
            "patient": patient,
            "form": form,
            "authorisations": authorisations.order_by("-valid_to", "-pk"),
        },
    )
