from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ketacare.accounts.access import requires
from ketacare.accounts.permissions import allowed
from ketacare.audit.record import Action, record
from ketacare.patients.models import Patient
from ketacare.registry import report
from ketacare.registry.charts import km_chart
from ketacare.registry.dataset import Cohort, load
from ketacare.registry.forms import CohortForm

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
def dashboard(request: HttpRequest) -> HttpResponse:
    """The cohort report. Researchers get it de-identified: counts and statistics only, small
    cells suppressed, no way to the patients behind a figure."""
    form = CohortForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "registry/dashboard.html", {"form": form}, status=400)
    clinic_id = request.actor.clinic.pk
    cohort = form.cohort(clinic_id) if form.is_bound else Cohort(clinic_id)
    deidentified = not allowed(request.actor.role, "registry.patients")
    result = report.build(cohort, deidentified)
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
            "signals": [
                result.misuse.escalating_doses,
                result.misuse.early_requests,
                result.misuse.positive_screens_after_start,
            ],
            "query": request.GET.urlencode(),
        },
    )


@requires("registry.patients")
def step_patients(request: HttpRequest, step: str) -> HttpResponse:
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
    )[:500]
    record(request.actor, Action.VIEW, object_type="registry_patients", changes={"step": step})
    return render(
        request, "registry/patients.html", {"patients": listed, "step": step, "count": len(ids)}
    )
