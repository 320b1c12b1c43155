"""The steps of a session, one POST URL each: parse the form, call one action of
``treatments.actions``, and back to the session page; a refusal (SessionError) is shown on the
page with the form as it was filled in, and nothing is written. A GET there goes back to the
session page."""

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.treatments import actions
from ketacare.treatments.actions import SessionError, protocol_of
from ketacare.treatments.forms import (
    AcknowledgeForm,
    AdverseEventForm,
    CheckInForm,
    DischargeForm,
    GateOverrideForm,
    ObservationForm,
    PumpForm,
    StartDoseForm,
    form_errors,
    supply_rows,
)
from ketacare.treatments.models import Observation, SessionAlert, TreatmentSession
from ketacare.treatments.views.session import page, session_or_404, transfer_form
from ketacare.web.submit import attempted

# The form a step parses is the form its action reads.
StepForm = TypeVar("StepForm", bound=Form)


def _step(
    request: KetacareRequest,
    session_id: int,
    name: str,
    make_form: Callable[[TreatmentSession, Any], StepForm],
    act: Callable[[TreatmentSession, StepForm], Any],
    success: Callable[[Any], str | tuple[int, str]],
) -> HttpResponse:
    """One step of the session: parse, call the action, and back to the session page; on a
    refusal the page again, with the message and the form as it was filled in."""
    session = session_or_404(request, session_id)
    if request.method != "POST":
        return redirect("session-detail", session_id=session.pk)
    form = make_form(session, request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return page(request, session, {name: form})
    _, refusal = attempted(request, lambda: act(session, form), success)
    if refusal is not None:
        fixes = refusal.fixes if isinstance(refusal, SessionError) else ()
        return page(request, session, {name: form}, fixes=fixes)
    return redirect("session-detail", session_id=session.pk)


@requires("treatments.run")
def check_in(request: KetacareRequest, session_id: int) -> HttpResponse:
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
def observation_new(request: KetacareRequest, session_id: int) -> HttpResponse:
    return _step(
        request,
        session_id,
        "observation",
        lambda s, data: ObservationForm(data, auto_id="obs_%s"),
        lambda s, form: actions.record_observation(request.actor, s.pk, form.values()),
        _observation_saved,
    )


@requires("treatments.prescribe")
def gate_override(request: KetacareRequest, session_id: int) -> HttpResponse:
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
def dose_start(request: KetacareRequest, session_id: int) -> HttpResponse:
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
def device_next(request: KetacareRequest, session_id: int) -> HttpResponse:
    return _step(
        request,
        session_id,
        "device",
        lambda s, data: Form(data),
        lambda s, form: actions.give_device(request.actor, s.pk),
        lambda _: "Device given.",
    )


@requires("treatments.run")
def pump_step(request: KetacareRequest, session_id: int) -> HttpResponse:
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
def adverse_event_new(request: KetacareRequest, session_id: int) -> HttpResponse:
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
def transfer(request: KetacareRequest, session_id: int) -> HttpResponse:
    return _step(
        request,
        session_id,
        "transfer",
        lambda s, data: transfer_form(request, data),
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
def discharge(request: KetacareRequest, session_id: int) -> HttpResponse:
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
def alert_acknowledge(request: KetacareRequest, session_alert_id: int) -> HttpResponse:
    alert = get_object_or_404(
        SessionAlert.objects.only("pk", "session_id"),
        pk=session_alert_id,
        session__clinic=request.actor.clinic,
    )
    session = session_or_404(request, alert.session_id)
    if request.method != "POST":
        return redirect("session-detail", session_id=session.pk)
    form = AcknowledgeForm(request.POST, auto_id=f"ack{alert.pk}_%s")
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return page(request, session, bound_alert=(alert.pk, form))
    _, refusal = attempted(
        request,
        lambda: actions.acknowledge_alert(request.actor, alert.pk, form.cleaned_data["note"]),
        "Alert acknowledged.",
    )
    if refusal is not None:
        return page(request, session, bound_alert=(alert.pk, form))
    return redirect("session-detail", session_id=session.pk)
