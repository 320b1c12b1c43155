"""The session page: the protocol and plan, the flowsheet, alerts and adverse events, what is
due next, and the forms this role may use in this state. A refused step shows it again with
the form as it was filled in (``steps``)."""

from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.accounts.permissions import allowed
from ketacare.audit.record import Action, record
from ketacare.clinical.protocols.library import Protocol
from ketacare.clinical.session import rest_minutes
from ketacare.clinical.session.due import minutes_since
from ketacare.clinical.session.readiness import earliest_discharge
from ketacare.treatments import actions, due
from ketacare.treatments.actions import protocol_of
from ketacare.treatments.forms import (
    AcknowledgeForm,
    AdverseEventForm,
    CheckInForm,
    DischargeForm,
    GateOverrideForm,
    ObservationForm,
    PumpForm,
    StartDoseForm,
    TransferForm,
    supply_rows,
)
from ketacare.treatments.models import DoseStep, Observation, TreatmentSession
from ketacare.treatments.note import timeline
from ketacare.treatments.queries import sessions_of

State = TreatmentSession.State

# Where each missing thing of a refusal is recorded (``actions.Problem.fix``).
FIXES = {
    "consent": ("Record the consent", "consent-new"),
    "rems_enrollment": ("Record the REMS enrolment", "consent-new"),
    "weight": ("Record the weight", "measurement-new"),
    "questionnaires": ("Enter today's questionnaires", "patient-measures"),
    "safety_alert": ("Review the safety alert", "patient-measures"),
}


def session_or_404(request: KetacareRequest, session_id: int) -> TreatmentSession:
    # Another clinic's session is "not found", never "forbidden": ids reveal nothing.
    return get_object_or_404(sessions_of(request.actor.clinic), pk=session_id)


def transfer_form(request: KetacareRequest, data: object = None) -> TransferForm:
    staff = list(actions.transfer_deciders(request.actor.clinic))
    user = request.actor.user
    return TransferForm(
        data, staff=staff, decided_by=user.pk if user else None, auto_id="transfer_%s"
    )


def _forms(
    request: KetacareRequest,
    session: TreatmentSession,
    protocol: Protocol,
    last: Observation | None,
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
        forms["transfer"] = transfer_form(request)
    return forms


def _fix_links(session: TreatmentSession, fixes: tuple[str, ...]) -> list[tuple[str, str]]:
    return [
        (FIXES[fix][0], reverse(FIXES[fix][1], args=[session.patient_id]))
        for fix in fixes
        if fix in FIXES
    ]


def page(
    request: KetacareRequest,
    session: TreatmentSession,
    bound: dict[str, Form] | None = None,
    bound_alert: tuple[int, Form] | None = None,
    fixes: tuple[str, ...] = (),
) -> HttpResponse:
    """The session page; ``bound`` and ``bound_alert`` are forms a refused step returns as
    they were filled in, ``fixes`` where to record what a refusal found missing."""
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
            form: Form | None = None
            if can_prescribe:
                form = AcknowledgeForm(auto_id=f"ack{alert.pk}_%s")
                if bound_alert and bound_alert[0] == alert.pk:
                    form = bound_alert[1]
            open_alerts.append((alert, form))
    minimum = due.minimum_minutes(session, protocol)
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
        "minutes": minutes_since(due.dosed_at(session), now),
        "due": due.vitals_due(session, protocol, last_monitoring_at, now),
        "minimum_minutes": minimum,
        "earliest_discharge": earliest_discharge(session.dose_started_at, minimum),
        "blockers": (
            actions.discharge_blockers(session, True, True, now)
            if session.state == State.MONITORING
            else []
        ),
        "devices": (
            due.devices(session, protocol, steps)
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
def session_detail(request: KetacareRequest, session_id: int) -> HttpResponse:
    session = session_or_404(request, session_id)
    record(request.actor, Action.VIEW, obj=session, patient=session.patient)
    return page(request, session)
