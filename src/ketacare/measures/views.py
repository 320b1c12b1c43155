from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.cache import never_cache

from ketacare import languages as language
from ketacare.accounts.access import KetacareRequest, client_ip, public, requires
from ketacare.audit.record import Action, record
from ketacare.clinical.instruments import INSTRUMENT_IDS, AnswerError, Instrument, get
from ketacare.clinical.safety import crisis_resources
from ketacare.measures import actions, contact
from ketacare.measures.forms import (
    AcknowledgeForm,
    AssignForm,
    SendLinkForm,
    answers_form_class,
)
from ketacare.measures.models import Assignment, PatientLink, SafetyAlert
from ketacare.measures.summary import patient_summary
from ketacare.patients.models import Patient
from ketacare.referrals.queries import open_referral_alerts
from ketacare.treatments.queries import gates_waiting, open_session_alerts
from ketacare.web.templatetags.clinical_text import words


def _patient(request: KetacareRequest, pk: int) -> Patient:
    return get_object_or_404(Patient, pk=pk, clinic=request.actor.clinic)


def _instrument(instrument_id: str) -> Instrument:
    if instrument_id not in INSTRUMENT_IDS:
        raise Http404("No such questionnaire.")
    return get(instrument_id)


def _all_choices() -> list[tuple[str, str]]:
    return [(i, get(i).short_name) for i in INSTRUMENT_IDS]


def _self_report_choices() -> list[tuple[str, str]]:
    return [(i, get(i).short_name) for i in INSTRUMENT_IDS if actions.patient_can_answer(get(i))]


@requires("measures.view")
def patient_measures(request: KetacareRequest, pk: int) -> HttpResponse:
    patient = _patient(request, pk)
    summary = patient_summary(patient)
    # A page of the patient's scores is a view of their record, audited like the chart.
    record(request.actor, Action.VIEW, obj=patient, object_type="measures", patient=patient)
    return render(
        request,
        "measures/patient_measures.html",
        {
            "patient": patient,
            "summary": summary,
            "link_form": SendLinkForm(instruments=_self_report_choices()),
            "assign_form": AssignForm(instruments=_all_choices()),
            "reminder_hours": settings.KETACARE_LINK_REMINDER_HOURS,
            "instruments": [get(i) for i in INSTRUMENT_IDS],
        },
    )


@requires("measures.enter")
def enter_response(request: KetacareRequest, pk: int, instrument_id: str) -> HttpResponse:
    patient = _patient(request, pk)
    instrument = _instrument(instrument_id)
    form = answers_form_class(
        instrument, for_patient=False, ask_sex=actions.must_ask_sex(instrument, patient)
    )(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            response = actions.record_staff_response(
                request.actor,
                patient,
                instrument.id,
                form.answers(),
                form.cleaned_data["completed_at"],
                sex=form.cleaned_data.get("sex"),
            )
        except AnswerError as error:
            form.add_error(None, str(error))
        else:
            total = "" if response.total is None else f" total {response.total}"
            triage = instrument.triage.get(response.severity)
            messages.success(
                request,
                f"{instrument.short_name} saved:{total} {words(response.severity).lower()}."
                + (f" Triage: {triage}." if triage else ""),
            )
            raised = [alert.finding for alert in response.alerts.select_related("response")]
            if raised:
                messages.error(
                    request,
                    f"Safety alert raised: {'; '.join(raised)}. See the alert on this page.",
                )
            return redirect("patient-measures", pk=patient.pk)
    return render(
        request,
        "measures/enter.html",
        {"patient": patient, "instrument": instrument, "form": form},
    )


@requires("measures.send_link")
def send_link(request: KetacareRequest, pk: int) -> HttpResponse:
    patient = _patient(request, pk)
    form = SendLinkForm(request.POST or None, instruments=_self_report_choices())
    if request.method == "POST" and form.is_valid():
        try:
            link, url = actions.create_link(
                request.actor,
                patient,
                form.cleaned_data["instrument_id"],
                form.cleaned_data["channel"],
            )
        except contact.ContactRefused as refused:
            messages.error(request, refusal_message(refused.refusal, patient, "No link was sent"))
        except OSError as error:  # the mail or SMS backend could not send
            messages.error(request, f"The link could not be sent, so none was made: {error}")
        except ValueError as error:
            messages.error(request, str(error))
        else:
            sent: dict[str, str] = {
                PatientLink.Channel.EMAIL: f"emailed to {patient.email}",
                PatientLink.Channel.SMS: f"texted to {patient.phone}",
            }
            where = sent.get(link.channel, "ready to open on a clinic device")
            messages.success(request, f"Link {where}: {url}")
        return redirect("patient-measures", pk=patient.pk)
    for errors in form.errors.values():
        for message in errors:
            messages.error(request, str(message))
    return redirect("patient-measures", pk=patient.pk)


def refusal_message(refusal: contact.Refusal, patient: Patient, lead: str) -> str:
    """``lead``, why, and a link to the form that records what is missing."""
    return format_html(
        '{}: {}. <a href="{}">{}</a>.',
        lead,
        refusal.message[:1].lower() + refusal.message[1:],
        reverse(refusal.fix_url_name, args=[patient.pk]) + refusal.fix_query,
        refusal.fix_label,
    )


@requires("measures.assign")
def assign(request: KetacareRequest, pk: int) -> HttpResponse:
    patient = _patient(request, pk)
    form = AssignForm(request.POST or None, instruments=_all_choices())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actions.assign_instrument(
            request.actor,
            patient,
            data["instrument_id"],
            data["schedule"],
            data["starts_on"],
            data["every_days"],
        )
        messages.success(request, "Questionnaire scheduled.")
    else:
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(
                    request, f"{form.fields[field].label if field in form.fields else ''}: {error}"
                )
    return redirect("patient-measures", pk=patient.pk)


@requires("measures.assign")
def end_assignment(request: KetacareRequest, pk: int, assignment_id: int) -> HttpResponse:
    patient = _patient(request, pk)
    assignment = get_object_or_404(Assignment, pk=assignment_id, patient=patient, active=True)
    if request.method == "POST":
        actions.end_assignment(request.actor, assignment)
        messages.success(request, "Schedule ended.")
    return redirect("patient-measures", pk=patient.pk)


@requires("measures.export")
def export_fhir(request: KetacareRequest, pk: int) -> HttpResponse:
    patient = _patient(request, pk)
    bundle = actions.export_fhir(request.actor, patient)
    response = JsonResponse(bundle, content_type="application/fhir+json")
    response["Content-Disposition"] = f'attachment; filename="measures-{patient.mrn}.fhir.json"'
    return response


def _link_problem(request: HttpRequest, problem: actions.LinkError) -> HttpResponse:
    return render(
        request, "measures/link_problem.html", {"message": str(problem)}, status=problem.status
    )


@public
@never_cache  # a shared phone or browser must not keep a patient's answers or crisis page
@language.in_language
def patient_link(request: HttpRequest, token: str) -> HttpResponse:
    """The patient's questionnaire, by link: no login, only the patient's first name shown."""
    try:
        link = actions.open_link(token, timezone.now())
    except actions.LinkError as problem:
        return _link_problem(request, problem)
    instrument = get(link.instrument_id)
    form = answers_form_class(
        instrument, for_patient=True, ask_sex=actions.must_ask_sex(instrument, link.patient)
    )(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            response = actions.submit_link_response(
                token, form.answers(), client_ip(request), sex=form.cleaned_data.get("sex")
            )
        except actions.LinkError as problem:
            return _link_problem(request, problem)
        return render(
            request,
            "measures/link_done.html",
            {
                "clinic": link.patient.clinic,
                "crisis": (
                    crisis_resources(language.chosen(request)) if response.alerts.exists() else None
                ),
            },
        )
    return render(
        request,
        "measures/link_form.html",
        {
            "form": form,
            "instrument": instrument,
            "first_name": link.patient.given_name,
            "clinic": link.patient.clinic,
        },
    )


@requires("alert.view")
def alert_dashboard(request: KetacareRequest) -> HttpResponse:
    alerts = SafetyAlert.objects.filter(clinic=request.actor.clinic).select_related(
        "patient", "response", "acknowledged_by"
    )
    return render(
        request,
        "measures/alerts.html",
        {
            "open_alerts": alerts.filter(acknowledged_at__isnull=True).order_by("-created_at"),
            "recent": alerts.filter(acknowledged_at__isnull=False).order_by("-acknowledged_at")[
                :20
            ],
            "form": AcknowledgeForm(),
            "session_alerts": open_session_alerts(request.actor.clinic),
            "referral_alerts": open_referral_alerts(request.actor.clinic),
            "gates": gates_waiting(request.actor.clinic),
        },
    )


@requires("alert.acknowledge")
def acknowledge_alert(request: KetacareRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(
        SafetyAlert.objects.select_related("patient"),
        pk=alert_id,
        clinic=request.actor.clinic,
    )
    if request.method != "POST":
        return redirect("alert-dashboard")
    form = AcknowledgeForm(request.POST)
    if form.is_valid():
        try:
            actions.acknowledge_alert(request.actor, alert, form.cleaned_data["note"])
        except actions.AlreadyAcknowledged as already:
            first = already.alert
            who = first.acknowledged_by.get_full_name() if first.acknowledged_by else "someone"
            messages.warning(
                request,
                f"{who} had already acknowledged this alert at "
                f"{timezone.localtime(first.acknowledged_at):%Y-%m-%d %H:%M}; your note was not "
                "saved.",
            )
        else:
            messages.success(request, f"Alert for {alert.patient.full_name} acknowledged.")
    else:
        messages.error(request, str(form.errors["note"][0]))
    if request.POST.get("back") == "patient":
        return redirect("patient-measures", pk=alert.patient_id)
    return redirect("alert-dashboard")
