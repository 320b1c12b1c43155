import hashlib

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.accounts.permissions import allowed
from ketacare.audit.record import Action, record
from ketacare.bounds import parse_id
from ketacare.clinical.measurements import age_in_years, body_mass_index
from ketacare.patients import actions
from ketacare.patients.forms import ConsentForm, MeasurementForm, NewPatientForm, PatientForm
from ketacare.patients.models import ConsentRecord, Patient
from ketacare.patients.search import ORDER, Duplicate, search
from ketacare.referrals.queries import referral_of
from ketacare.scheduling.calendar import upcoming_for_patient
from ketacare.web.submit import submitted

PAGE_SIZE = 25


def _patient(request: KetacareRequest, pk: int) -> Patient:
    # Scoped to the active clinic: another clinic's patient is "not found", never "forbidden",
    # so ids reveal nothing.
    return get_object_or_404(Patient, pk=pk, clinic=request.actor.clinic)


@requires("patient.view")
def patient_list(request: KetacareRequest) -> HttpResponse:
    # Printable characters only: a NUL would be refused by PostgreSQL's JSON in the audit row.
    query = "".join(ch for ch in request.GET.get("q", "") if ch.isprintable()).strip()[:100]
    patients = Patient.objects.filter(clinic=request.actor.clinic).only(
        # The sort keys are selected too: a UNION can only be ordered by selected columns.
        "id",
        "mrn",
        "given_name",
        "family_name",
        "date_of_birth",
        "sex_at_birth",
        "search_family",
        "search_given",
    )
    patients = search(patients, query, timezone.localdate()) if query else patients.order_by(*ORDER)
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    if query:
        record(request.actor, Action.SEARCH, object_type="patient", changes={"query": query})
    context = {"page": page, "query": query}
    template = (
        "patients/_results.html" if request.headers.get("HX-Request") else "patients/list.html"
    )
    return render(request, template, context)


@requires("patient.create")
def patient_new(request: KetacareRequest) -> HttpResponse:
    form = NewPatientForm(
        request.POST or None,
        with_measurement=allowed(request.actor.role, "patient.record_measurement"),
    )
    duplicates: list[Duplicate] = []
    if request.method == "POST" and form.is_valid():
        # "Create anyway" carries the ids of the likely duplicates the user was shown.
        confirmed = {
            pk for pk in map(parse_id, request.POST.get("create_anyway", "").split()) if pk
        }
        try:
            patient = actions.create_patient(request.actor, form.cleaned_data, confirmed)
        except actions.LikelyDuplicates as found:
            duplicates = found.duplicates
        else:
            messages.success(request, f"Registered {patient.full_name}, MRN {patient.mrn}.")
            return redirect("patient-chart", pk=patient.pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "title": "New patient", "duplicates": duplicates},
    )


@requires("patient.view")
def patient_chart(request: KetacareRequest, pk: int) -> HttpResponse:
    patient = _patient(request, pk)
    measurements = list(patient.measurements.select_related("recorded_by")[:20])
    # A consent signed in the portal shows so, in the same query (the text it keeps is
    # read on the consent's own page).
    consents = list(
        patient.consents.select_related("recorded_by", "portal_signature").defer(
            "portal_signature__text"
        )[:50]
    )
    latest_height = next((m.height_cm for m in measurements if m.height_cm), None)
    latest = measurements[0] if measurements else None
    record(request.actor, Action.VIEW, obj=patient, patient=patient)
    open_alerts = (
        list(
            patient.safety_alerts.filter(acknowledged_at__isnull=True)
            .select_related("response")  # the alert box names the answer that raised it
            .order_by("-created_at")
        )
        if allowed(request.actor.role, "alert.view")
        else []
    )
    return render(
        request,
        "patients/chart.html",
        {
            "patient": patient,
            "age": age_in_years(patient.date_of_birth, timezone.localdate()),
            "measurements": measurements,
            "latest": latest,
            "bmi": body_mass_index(latest.weight_kg, latest_height)
            if latest and latest_height
            else None,
            "consents": consents,
            "open_alerts": open_alerts,
            # The patient's next booked or confirmed appointments: one query.
            "upcoming": upcoming_for_patient(patient, timezone.now())
            if allowed(request.actor.role, "scheduling.view")
            else [],
            "zone": request.actor.clinic.zone,
            # The referral the patient came through, with its urgent alerts and hand-off.
            "referral": referral_of(patient.pk)
            if allowed(request.actor.role, "referrals.view")
            else None,
        },
    )


@requires("patient.edit")
def patient_edit(request: KetacareRequest, pk: int) -> HttpResponse:
    patient = _patient(request, pk)
    form = PatientForm(request.POST or None, instance=patient)
    done, _ = submitted(
        request,
        form,
        lambda data: actions.update_patient(request.actor, patient.pk, data, data["version"]),
        lambda changes: f"Saved {len(changes)} change(s)." if changes else "Nothing changed.",
    )
    if done:
        return redirect("patient-chart", pk=patient.pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "title": f"Edit {patient.full_name}", "patient": patient},
    )


@requires("patient.record_measurement")
def measurement_new(request: KetacareRequest, pk: int) -> HttpResponse:
    patient = _patient(request, pk)
    form = MeasurementForm(request.POST or None, initial={"measured_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actions.record_measurement(
            request.actor, patient, data["measured_on"], data["weight_kg"], data["height_cm"]
        )
        messages.success(request, "Measurement recorded.")
        return redirect("patient-chart", pk=patient.pk)
    return render(
        request,
        "patients/form.html",
        {"form": form, "title": "Record weight and height", "patient": patient},
    )


@requires("patient.record_consent")
def consent_new(request: KetacareRequest, pk: int) -> HttpResponse:
    patient = _patient(request, pk)
    initial = {"signed_by": patient.full_name, "signed_at": timezone.localtime()}
    # Pages that find a consent missing link here with the kind they need (?kind=…).
    if request.GET.get("kind") in ConsentRecord.Kind.values:
        initial["kind"] = request.GET["kind"]
    form = ConsentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        actions.record_consent(request.actor, patient, form.cleaned_data)
        messages.success(request, "Consent recorded.")
        return redirect("patient-chart", pk=patient.pk)
    return render(
        request, "patients/form.html", {"form": form, "title": "Record consent", "patient": patient}
    )


@requires("patient.view")
def consent_detail(request: KetacareRequest, pk: int, consent_id: int) -> HttpResponse:
    """One consent record; for one signed in the patient portal, the exact text signed, its
    SHA-256 (checked again here against the text kept), the name typed and the time."""
    patient = _patient(request, pk)
    consent = get_object_or_404(
        ConsentRecord.objects.select_related("recorded_by", "portal_signature"),
        pk=consent_id,
        patient=patient,
    )
    signature = getattr(consent, "portal_signature", None)
    # Computed again from the text kept: the page shows whether the two still agree.
    digest = hashlib.sha256(signature.text.encode("utf-8")).hexdigest() if signature else ""
    record(request.actor, Action.VIEW, obj=consent, patient=patient)
    return render(
        request,
        "patients/consent.html",
        {
            "patient": patient,
            "consent": consent,
            "signature": signature,
            "digest_matches": signature is not None and digest == signature.text_sha256,
        },
    )
