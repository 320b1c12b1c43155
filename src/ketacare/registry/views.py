import pandas as pd
from django.http import HttpResponse
from django.shortcuts import render

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.accounts.permissions import allowed
from ketacare.audit.record import Action, record
from ketacare.clinical.outcomes.prediction.predictions import predict
from ketacare.clinical.outcomes.prediction.results import Model, Prediction, Withheld
from ketacare.patients.models import Patient
from ketacare.registry import report
from ketacare.registry.charts import km_chart
from ketacare.registry.dataset import Cohort, load
from ketacare.registry.forms import CohortForm
from ketacare.registry.model_cache import response_model
from ketacare.registry.researcher_form import ResearcherCohortForm
from ketacare.treatments.models import AdverseEvent
from ketacare.web.templatetags.clinical_text import words

# The patients behind a step listed on one page, the first by name (the count says how many).
LISTED_AT_MOST = 500

# Which patients stand behind each flow step (the step's rule over the dataset's columns).
STEP_FILTERS = {
    "screened": lambda p: p.index == p.index,
    "evaluated": lambda p: p["evaluated"],
    "eligible": lambda p: p["evaluated"] & p["eligible"],
    "started": lambda p: p["evaluated"] & p["eligible"] & p["started"],
    "completed_induction": lambda p: (
        p["evaluated"] & p["eligible"] & p["started"] & p["completed_induction"]
    ),
}


@requires("registry.view")
def dashboard(request: KetacareRequest) -> HttpResponse:
    """The cohort report. Researchers get it de-identified: counts and statistics only, small
    cells suppressed, no way to the patients behind a figure."""
    deidentified = not allowed(request.actor.role, "registry.patients")
    form = (ResearcherCohortForm if deidentified else CohortForm)(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "registry/dashboard.html", {"form": form}, status=400)
    clinic_id = request.actor.clinic.pk
    cohort = form.cohort(clinic_id) if form.is_bound else Cohort(clinic_id)
    model, predictions = None, []
    if deidentified:
        # Suppressed across every cohort the researcher could ask for instead of this one.
        result = report.build(cohort, deidentified)
    else:
        data = load(cohort)
        result = report.build(cohort, deidentified, data)
        # The experimental model is shown to staff only: its calibration bins are not
        # suppressed.
        model = response_model(clinic_id, data.patients, data.scores)
        if isinstance(model, Model):
            predictions = predict(model, _in_induction(data.patients), data.scores)
    record(
        request.actor,
        Action.VIEW,
        object_type="registry_report",
        changes={"cohort": request.GET.dict(), "deidentified": deidentified},
    )
    return render(
        request,
        "registry/dashboard.html",
        {
            "form": form,
            "report": result,
            "km": km_chart(result.durability),
            "adverse_events": [(_event_label(e.kind), e) for e in result.safety.by_kind],
            "signals": [
                result.misuse.escalating_doses,
                result.misuse.early_requests,
                result.misuse.positive_screens_after_start,
            ],
            "query": request.GET.urlencode(),
            "model": model,
            "model_withheld": isinstance(model, Withheld),
            "predictions": _named(predictions),
        },
    )


def _event_label(kind: str) -> str:
    """The adverse event's name as the session page gives it ("Anxiety / emergence reaction")."""
    if kind in AdverseEvent.Kind.values:
        return str(AdverseEvent.Kind(kind).label)
    return words(kind)


def _in_induction(patients: pd.DataFrame) -> pd.DataFrame:
    """Started and not yet through the induction (the dataset cannot tell a dropout)."""
    if patients.empty:
        return patients
    return patients[patients["started"] & ~patients["completed_induction"]]


def _named(predictions: list[Prediction]) -> list[tuple[Patient, Prediction]]:
    people = Patient.objects.in_bulk([p.patient_id for p in predictions])
    return [(people[p.patient_id], p) for p in predictions if p.patient_id in people]


@requires("registry.patients")
def step_patients(request: KetacareRequest, step: str) -> HttpResponse:
    """The patients behind a flow step of the same cohort (staff with chart access only)."""
    form = CohortForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "registry/dashboard.html", {"form": form}, status=400)
    clinic_id = request.actor.clinic.pk
    cohort = form.cohort(clinic_id) if form.is_bound else Cohort(clinic_id)
    patients = load(cohort).patients
    rule = STEP_FILTERS.get(step)
    ids = list(patients[rule(patients)]["patient_id"]) if rule and not patients.empty else []
    listed = Patient.objects.filter(pk__in=ids, clinic_id=clinic_id).order_by(
        "family_name", "given_name"
    )[:LISTED_AT_MOST]
    record(request.actor, Action.VIEW, object_type="registry_patients", changes={"step": step})
    return render(
        request,
        "registry/patients.html",
        {"patients": listed, "step": step, "count": len(ids), "at_most": LISTED_AT_MOST},
    )
