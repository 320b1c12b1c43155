"""The chair board and the session page. Views parse a form and call one action of
``treatments.actions``; a refusal (SessionError) is shown on the page and nothing is written.
Every step has its own POST URL; a GET there goes back to the session page."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Count, Max, Prefetch, Q
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from ketacare.accounts.access import requires
from ketacare.accounts.permissions import allowed
from ketacare.audit.record import Action, record
from ketacare.bounds import OutOfBounds, parse_date
from ketacare.clinical.protocols.library import Protocol
from ketacare.clinical.protocols.monitoring import observation_minutes, planned_vital_signs
from ketacare.clinical.session import rest_minutes
from ketacare.inventory.models import LedgerEntry
from ketacare.planning.models import PlannedSession, TreatmentPlan
from ketacare.treatments import actions
from ketacare.treatments.actions import SessionError, protocol_of
from ketacare.treatments.forms import (
    AcknowledgeForm,
    AdverseEventForm,
    CheckInForm,
    DischargeForm,
    GateOverrideForm,
    ObservationForm,
    OpenSessionForm,
    PumpForm,
    StartDoseForm,
    TransferForm,
    supply_rows,
)
from ketacare.treatments.models import (
    DoseStep,
    Observation,
    SessionAlert,
    TreatmentSession,
)
from ketacare.treatments.note import timeline

State = TreatmentSession.State
# An observation taken this long before a planned check counts for it.
EARLY_VITALS = timedelta(minutes=3)


# --- what is due ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VitalsDue:
    """The next planned vital-sign check: when (None for "before discharge" and "before
    dosing", which have no clock time) and whether it is late."""

    label: str
    at: datetime | None
    overdue: bool


def next_vitals(
    session: TreatmentSession,
    protocol: Protocol,
    last_monitoring_at: datetime | None,
    now: datetime,
) -> VitalsDue | None:
    """The protocol's next vital-sign check after the last monitoring observation."""
    if session.state == State.CHECKED_IN and session.gate_checked_at is None:
        return VitalsDue("before dosing", None, False)
    if session.state not in (State.DOSING, State.MONITORING) or session.dose_started_at is None:
        return None
    # A recheck an alert calls for comes before the protocol's next planned check.
    due = actions.rechecks(session)
    if due:
        first = due[0]
        return VitalsDue(
            f"recheck {first.what} (alert at {timezone.localtime(first.alert_at):%H:%M})",
            first.due_at,
            first.overdue(now),
        )
    for check in planned_vital_signs(protocol, session.plan.infusion_minutes or 0):
        if check.at_min is None:
            return VitalsDue(check.label, None, False)
        if check.at_min == 0:
            continue  # before dosing: taken at the gate
        at = session.dose_started_at + timedelta(minutes=check.at_min)
        if last_monitoring_at is not None and last_monitoring_at >= at - EARLY_VITALS:
            continue
        return VitalsDue(f"{check.at_min} min ({check.label})", at, now > at)
    return None


def minutes_since_dose(session: TreatmentSession, now: datetime) -> int | None:
    if session.dose_started_at is None or session.state not in (State.DOSING, State.MONITORING):
        return None
    return int((now - session.dose_started_at).total_seconds() // 60)


# --- the chair board --------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardRow:
    session: TreatmentSession
    protocol: Protocol
    ready: bool
    minutes: int | None
    due: VitalsDue | None
    open_alerts: int


def _day(request: HttpRequest, value: str | None) -> date:
    """The board's day from ``?date=``: today when absent, or (with a message) when it is
    not a date ketacare accepts."""
    today = timezone.localdate()
    try:
        return parse_date(value, today, "The board's date") or today
    except OutOfBounds as error:
        messages.error(request, f"{error} Showing today.")
        return today


def _board_url(day: date) -> str:
    return f"{reverse('chair-board')}?{urlencode({'date': day.isoformat()})}"


def _ready(session: TreatmentSession, protocol: Protocol, open_alerts: int, now: datetime) -> bool:
    """Ready for discharge but for what the nurse attests at discharge (dissociation,
    escort). It runs only for sessions past their minimum observation time without an open
    alert; both are among discharge_blockers' own criteria, so skipping the others never shows
    a session as ready that is not."""
    if session.state != State.MONITORING or session.dose_started_at is None or open_alerts:
        return False
    minimum = observation_minutes(protocol, session.plan.infusion_minutes or 0)
    if now - session.dose_started_at < timedelta(minutes=minimum):
        return False
    return not actions.discharge_blockers(session, True, True, now)


def board_rows(clinic: Any, day: date, now: datetime) -> list[BoardRow]:
    sessions = (
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
    rows = []
    for session in sessions:
        protocol = protocol_of(session)
        rows.append(
            BoardRow(
                session=session,
                protocol=protocol,
                ready=_ready(session, protocol, session.open_alert_count, now),
                minutes=minutes_since_dose(session, now),
                due=next_vitals(session, protocol, session.last_monitoring_at, now),
                open_alerts=session.open_alert_count,
            )
        )
    return rows


@requires("treatments.view")
def board(request: HttpRequest) -> HttpResponse:
    """Today's sessions by chair. htmx polls this view for the table alone."""
    day = _day(request, request.GET.get("date"))
    now = timezone.now()
    context: dict[str, Any] = {
        "day": day,
        "today": timezone.localdate(),
        "rows": board_rows(request.actor.clinic, day, now),
        "now": now,
        "board_url": _board_url(day),
    }
    if request.headers.get("HX-Request"):
        response = render(request, "treatments/_board_table.html", context)
    else:
        context["waiting"] = (
            PlannedSession.objects.filter(
                plan__clinic=request.actor.clinic,
                plan__state=TreatmentPlan.State.SIGNED,
                date=day,
                treatment__isnull=True,
            )
            .select_related("plan__patient")
            .order_by("plan__patient__family_name", "plan__patient__given_name", "pk")
        )
        context["previous_day"] = day - timedelta(days=1)
        context["next_day"] = day + timedelta(days=1)
        response = render(request, "treatments/board.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@requires("treatments.run")
def session_open(request: HttpRequest) -> HttpResponse:
    day = _day(request, request.POST.get("date"))
    if request.method != "POST":
        return redirect("chair-board")
    form = OpenSessionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(_board_url(day))
    try:
        session = actions.open_session(
            request.actor, form.cleaned_data["planned"], form.cleaned_data["chair"]
        )
    except SessionError as error:
        messages.error(request, str(error))
        return redirect(_board_url(day))
    messages.success(request, f"{session.patient.full_name} is on the board in {session.chair}.")
    return redirect(_board_url(session.date))


# --- the session page -------------------------------------------------------------------------


def _session(request: HttpRequest, session_id: int) -> TreatmentSession:
    # Another clinic's session is "not found", never "forbidden": ids reveal nothing.
    queryset = TreatmentSession.objects.select_related(
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
    return get_object_or_404(queryset, pk=session_id, clinic=request.actor.clinic)


def _form_errors(form: Form) -> str:
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        text = " ".join(str(e) for e in errors)
        parts.append(f"{label}: {text}" if label else text)
    return "Not saved. " + "; ".join(parts)


def _forms(
    request: HttpRequest, session: TreatmentSession, protocol: Protocol, last: Observation | None
) -> dict[str, Form]:
    """The forms this role may use in this state, unbound."""
    role = request.actor.role
    can_run = allowed(role, "treatments.run")
    can_prescribe = allowed(role, "treatments.prescribe")
    state = session.state
    forms: dict[str, Form] = {}
    if can_run and state == State.SCHEDULED:
        forms["check_in"] = CheckInForm(protocol=protocol, auto_id="checkin_%s")
    if can_run and state in (State.CHECKED_IN, State.DOSING, State.MONITORING):
        forms["observation"] = ObservationForm(last=last, auto_id="obs_%s")
        forms["adverse_event"] = AdverseEventForm(auto_id="ae_%s")
    if (
        can_prescribe
        and state == State.CHECKED_IN
        and session.gate_fired
        and session.gate_override_by_id is None
    ):
        forms["override"] = GateOverrideForm(auto_id="override_%s")
    if can_run and state == State.CHECKED_IN and session.gate_open:
        devices = session.plan.dose_order.get("devices")
        forms["dose"] = StartDoseForm(
            rows=supply_rows(request.actor.clinic, protocol.drug),
            auto_id="dose_%s",
            initial={"units": devices} if devices else None,
        )
    if can_run and state == State.DOSING and protocol.route == "iv":
        forms["pump"] = PumpForm(auto_id="pump_%s")
    if can_run and state == State.MONITORING:
        forms["discharge"] = DischargeForm(protocol=protocol, auto_id="discharge_%s")
    if can_run and state in (State.DOSING, State.MONITORING):
        forms["transfer"] = _transfer_form(request)
    return forms


def _transfer_form(request: HttpRequest, data: Any = None) -> TransferForm:
    staff = list(actions.transfer_deciders(request.actor.clinic))
    user = request.actor.user
    return TransferForm(
        data, staff=staff, decided_by=user.pk if user else None, auto_id="transfer_%s"
    )


def _devices(session: TreatmentSession, protocol: Protocol, steps: list[DoseStep]) -> dict:
    """Nasal devices given, needed, and when the next may be given."""
    given = [s for s in steps if s.kind == DoseStep.Kind.DEVICE]
    per_device = Decimal(str(protocol.raw["mg_per_device"]))
    interval = timedelta(minutes=int(protocol.raw["minutes_between_devices"]))
    return {
        "given": len(given),
        "needed": int((session.dose_mg or 0) / per_device),
        "next_at": given[-1].at + interval if given else None,
        "interval_minutes": int(protocol.raw["minutes_between_devices"]),
    }


# Where each missing thing of a refusal is recorded (``actions.Problem.fix``).
FIXES = {
    "consent": ("Record the consent", "consent-new"),
    "rems_enrollment": ("Record the REMS enrolment", "consent-new"),
    "weight": ("Record the weight", "measurement-new"),
    "questionnaires": ("Enter today's questionnaires", "patient-measures"),
    "safety_alert": ("Review the safety alert", "patient-measures"),
}


def _fix_links(session: TreatmentSession, fixes: tuple[str, ...]) -> list[tuple[str, str]]:
    return [
        (FIXES[fix][0], reverse(FIXES[fix][1], args=[session.patient_id]))
        for fix in fixes
        if fix in FIXES
    ]


def _page(
    request: HttpRequest,
    session: TreatmentSession,
    bound: dict[str, Form] | None = None,
    bound_alert: tuple[int, Form] | None = None,
    fixes: tuple[str, ...] = (),
) -> HttpResponse:
    protocol = protocol_of(session)
    now = timezone.now()
    observations = list(session.observations.select_related("recorded_by"))
    steps = list(session.steps.select_related("recorded_by"))
    alerts = list(
        session.alerts.select_related("acknowledged_by", "observation").order_by("created_at")
    )
    last = observations[-1] if observations else None
    last_monitoring_at = max(
        (o.taken_at for o in observations if o.phase == Observation.Phase.MONITORING),
        default=None,
    )
    forms = _forms(request, session, protocol, last)
    # A refused form comes back with what was typed, where it was (never a form this state
    # does not offer).
    forms.update({name: form for name, form in (bound or {}).items() if name in forms})
    can_prescribe = allowed(request.actor.role, "treatments.prescribe")
    open_alerts = []
    for alert in alerts:
        if alert.acknowledged_at is None:
            form = None
            if can_prescribe:
                form = AcknowledgeForm(auto_id=f"ack{alert.pk}_%s")
                if bound_alert and bound_alert[0] == alert.pk:
                    form = bound_alert[1]
            open_alerts.append((alert, form))
    minimum = observation_minutes(protocol, session.plan.infusion_minutes or 0)
    rate_steps = [s for s in steps if s.rate_ml_per_h is not None]
    pump_steps = [s for s in steps if s.kind in (DoseStep.Kind.PAUSE, DoseStep.Kind.RESUME)]
    context = {
        "session": session,
        "patient": session.patient,
        "protocol": protocol,
        "plan": session.plan,
        "forms": forms,
        "observations": observations,
        "steps": steps,
        "events": list(session.adverse_events.select_related("recorded_by")),
        "alerts": alerts,
        "alerted": {alert.observation_id for alert in alerts},
        "open_alerts": open_alerts,
        "minutes": minutes_since_dose(session, now),
        "due": next_vitals(session, protocol, last_monitoring_at, now),
        "minimum_minutes": minimum,
        "earliest_discharge": (
            session.dose_started_at + timedelta(minutes=minimum)
            if session.dose_started_at
            else None
        ),
        "blockers": (
            actions.discharge_blockers(session, True, True, now)
            if session.state == State.MONITORING
            else []
        ),
        "devices": (
            _devices(session, protocol, steps)
            if protocol.route == "intranasal" and session.state == State.DOSING
            else None
        ),
        # Paused until resumed, whatever came between (a rate change while paused).
        "paused": bool(pump_steps) and pump_steps[-1].kind == DoseStep.Kind.PAUSE,
        "rate": rate_steps[-1].rate_ml_per_h if rate_steps else None,
        "can_change_dose": can_prescribe,
        "pre_dose": [o for o in observations if o.phase == Observation.Phase.PRE_DOSE],
        # Everything so far in time order, gate and ledger included; the locked note once ended.
        "timeline": timeline(session) if not session.ended else [],
        "fixes": _fix_links(session, fixes),
        "left_to_waste": actions.left_to_waste(session),
        "rest_minutes": rest_minutes(),
    }
    return render(request, "treatments/session.html", context)


@requires("treatments.view")
def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _session(request, session_id)
    record(request.actor, Action.VIEW, obj=session, patient=session.patient)
    return _page(request, session)


def _step(
    request: HttpRequest,
    session_id: int,
    name: str,
    make_form: Callable[[TreatmentSession, Any], Form],
    act: Callable[[TreatmentSession, Form], Any],
    success: Callable[[Any], str | tuple[int, str]],
) -> HttpResponse:
    """One step of the session: parse, call the action, and back to the session page; on a
    refusal the page again, with the message and the form as it was filled in."""
    session = _session(request, session_id)
    if request.method != "POST":
        return redirect("session-detail", session_id=session.pk)
    form = make_form(session, request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _page(request, session, {name: form})
    try:
        result = act(session, form)
    except SessionError as error:
        messages.error(request, str(error))
        return _page(request, session, {name: form}, fixes=error.fixes)
    said = success(result)
    level, text = said if isinstance(said, tuple) else (messages.SUCCESS, said)
    messages.add_message(request, level, text)
    return redirect("session-detail", session_id=session.pk)


@requires("treatments.run")
def check_in(request: HttpRequest, session_id: int) -> HttpResponse:
    return _step(
        request,
        session_id,
        "check_in",
        lambda s, data: CheckInForm(data, protocol=protocol_of(s), auto_id="checkin_%s"),
        lambda s, form: actions.check_in(request.actor, s.pk, form.checklist()),
        lambda _: "Checked in. Record the pre-dose vital signs.",
    )


def _observation_saved(observation: Observation) -> str | tuple[int, str]:
    if observation.phase == Observation.Phase.PRE_DOSE:
        reading = observation.gate.get("note", "")
        if observation.session.gate_fired:
            who = (
                "a prescriber decides, after a repeat reading"
                if observation.session.gate_severe
                else "a repeat reading after rest, or a prescriber, decides"
            )
            return (
                messages.WARNING,
                f"Pre-dose vital signs saved ({reading}). The gate stops dosing: {who}.",
            )
        return f"Pre-dose vital signs saved ({reading}). The gate is open."
    raised = SessionAlert.objects.filter(observation=observation).count()
    if raised:
        return messages.WARNING, f"Observation saved. {raised} alert(s) raised for a prescriber."
    return "Observation saved."


@requires("treatments.run")
def observation_new(request: HttpRequest, session_id: int) -> HttpResponse:
    return _step(
        request,
        session_id,
        "observation",
        lambda s, data: ObservationForm(data, auto_id="obs_%s"),
        lambda s, form: actions.record_observation(request.actor, s.pk, form.values()),
        _observation_saved,
    )


@requires("treatments.prescribe")
def gate_override(request: HttpRequest, session_id: int) -> HttpResponse:
    return _step(
        request,
        session_id,
        "override",
        lambda s, data: GateOverrideForm(data, auto_id="override_%s"),
        lambda s, form: actions.override_gate(
            request.actor,
            s.pk,
            form.cleaned_data["reason"],
            form.cleaned_data["password"],
            form.cleaned_data.get("code", ""),
        ),
        lambda _: "Override recorded: dosing may start.",
    )


@requires("treatments.run")
def dose_start(request: HttpRequest, session_id: int) -> HttpResponse:
    def make(session: TreatmentSession, data: Any) -> Form:
        return StartDoseForm(
            data,
            rows=supply_rows(request.actor.clinic, protocol_of(session).drug),
            auto_id="dose_%s",
        )

    def act(session: TreatmentSession, form: Form) -> TreatmentSession:
        assert isinstance(form, StartDoseForm)
        # The dose fields reach the action whoever sent them: it refuses a changed dose from
        # anyone but a prescriber, rather than the page quietly giving the plan's dose.
        return actions.start_dose(
            request.actor,
            session.pk,
            form.supply_of(),
            dose_mg=form.cleaned_data.get("dose_mg"),
            change_reason=form.cleaned_data.get("change_reason") or "",
        )

    return _step(
        request,
        session_id,
        "dose",
        make,
        act,
        lambda s: (
            f"Dose of {s.dose_mg} mg started; dispensed from lot {s.dispense.lot.lot_number}."
        ),
    )


@requires("treatments.run")
def device_next(request: HttpRequest, session_id: int) -> HttpResponse:
    return _step(
        request,
        session_id,
        "device",
        lambda s, data: Form(data),
        lambda s, form: actions.give_device(request.actor, s.pk),
        lambda _: "Device given.",
    )


@requires("treatments.run")
def pump_step(request: HttpRequest, session_id: int) -> HttpResponse:
    return _step(
        request,
        session_id,
        "pump",
        lambda s, data: PumpForm(data, auto_id="pump_%s"),
        lambda s, form: actions.infusion_step(
            request.actor,
            s.pk,
            form.cleaned_data["kind"],
            form.cleaned_data.get("rate_ml_per_h"),
            form.cleaned_data.get("note") or "",
        ),
        lambda step: f"{step.get_kind_display()} at {timezone.localtime(step.at):%H:%M}.",
    )


@requires("treatments.run")
def adverse_event_new(request: HttpRequest, session_id: int) -> HttpResponse:
    return _step(
        request,
        session_id,
        "adverse_event",
        lambda s, data: AdverseEventForm(data, auto_id="ae_%s"),
        lambda s, form: actions.record_adverse_event(
            request.actor,
            s.pk,
            form.cleaned_data["kind"],
            form.cleaned_data["severity"],
            form.cleaned_data["description"],
            form.cleaned_data["intervention"],
            serious_criteria=tuple(form.cleaned_data["serious_criteria"]),
        ),
        lambda event: (
            f"Adverse event recorded: {event.get_kind_display()} "
            f"({event.get_severity_display().lower()}"
            f"{', serious' if event.serious else ''})."
        ),
    )


@requires("treatments.run")
def transfer(request: HttpRequest, session_id: int) -> HttpResponse:
    return _step(
        request,
        session_id,
        "transfer",
        lambda s, data: _transfer_form(request, data),
        lambda s, form: actions.transfer(
            request.actor,
            s.pk,
            destination=form.cleaned_data["destination"],
            reason=form.cleaned_data["reason"],
            decided_by_id=form.cleaned_data["decided_by"],
            password=form.cleaned_data["password"],
            code=form.cleaned_data.get("code", ""),
        ),
        lambda s: (
            messages.WARNING,
            f"Transferred to {s.transfer_destination}. The session note is signed and locked.",
        ),
    )


@requires("treatments.run")
def discharge(request: HttpRequest, session_id: int) -> HttpResponse:
    return _step(
        request,
        session_id,
        "discharge",
        lambda s, data: DischargeForm(data, protocol=protocol_of(s), auto_id="discharge_%s"),
        lambda s, form: actions.discharge(
            request.actor,
            s.pk,
            dissociation_resolved=form.cleaned_data["dissociation_resolved"],
            responsible_adult_present=form.cleaned_data["responsible_adult_present"],
            password=form.cleaned_data["password"],
            code=form.cleaned_data.get("code", ""),
        ),
        lambda _: "Discharged. The session note is signed and locked.",
    )


@requires("treatments.prescribe")
def alert_acknowledge(request: HttpRequest, session_alert_id: int) -> HttpResponse:
    alert = get_object_or_404(
        SessionAlert.objects.only("pk", "session_id"),
        pk=session_alert_id,
        session__clinic=request.actor.clinic,
    )
    session = _session(request, alert.session_id)
    if request.method != "POST":
        return redirect("session-detail", session_id=session.pk)
    form = AcknowledgeForm(request.POST, auto_id=f"ack{alert.pk}_%s")
    if form.is_valid():
        try:
            actions.acknowledge_alert(request.actor, alert.pk, form.cleaned_data["note"])
        except SessionError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Alert acknowledged.")
            return redirect("session-detail", session_id=session.pk)
    else:
        messages.error(request, _form_errors(form))
    return _page(request, session, bound_alert=(alert.pk, form))
