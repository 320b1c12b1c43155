"""The research export page: choose a cohort and formats, download a de-identified zip. The
cohort's date range is in whole years and its ages in bands that keep 90+ together, so the
choice of cohort cannot reveal a date or an age the export hides (see ``export``). The page
says how many patients the export leaves out for want of research-registry consent."""

from typing import Any, get_args

from django import forms
from django.http import HttpResponse
from django.shortcuts import render

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.clinical.eligibility import ROUTES
from ketacare.clinical.eligibility.evaluation import Indication
from ketacare.patients.models import Patient
from ketacare.planning.answers import CHOICE_LABELS, ROUTE_LABELS
from ketacare.registry.dataset import Cohort
from ketacare.registry.export import actions, consent, safe_harbor, writers

ANY = [("", "Any")]
FORMAT_LABELS = {
    "parquet": "Parquet (one file per table)",
    "csv": "CSV (one file per table)",
    "ndjson": "FHIR R4 NDJSON (Patient, Observation, MedicationAdministration)",
}


class ExportForm(forms.Form):
    from_year = forms.IntegerField(
        required=False,
        min_value=1900,
        max_value=2999,
        help_text="First dose (or, before any dose, the signed evaluation) in this year or "
        "later. Whole years only: the export does not reveal real dates.",
    )
    to_year = forms.IntegerField(
        required=False, min_value=1900, max_value=2999, help_text="… up to this year."
    )
    indication = forms.ChoiceField(
        required=False, choices=ANY + [(i, CHOICE_LABELS[i]) for i in get_args(Indication)]
    )
    route = forms.ChoiceField(required=False, choices=ANY + [(r, ROUTE_LABELS[r]) for r in ROUTES])
    sex = forms.ChoiceField(
        required=False, label="Sex at birth", choices=ANY + list(Patient.SexAtBirth.choices)
    )
    age_band = forms.ChoiceField(
        required=False,
        label="Age at first dose",
        choices=ANY + [(value, label) for value, label, _, _ in safe_harbor.AGE_BANDS],
    )
    formats = forms.MultipleChoiceField(
        choices=list(FORMAT_LABELS.items()),
        initial=list(FORMAT_LABELS),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one format."},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None, "Form.clean returns cleaned_data"
        first, last = data.get("from_year"), data.get("to_year")
        if first and last and first > last:
            self.add_error("to_year", "The last year comes before the first.")
        return data

    def cohort(self, clinic_id: int) -> Cohort:
        data = self.cleaned_data
        start, end = safe_harbor.year_range(data["from_year"], data["to_year"])
        low, high = safe_harbor.age_band(data["age_band"]) if data["age_band"] else (None, None)
        return Cohort(
            clinic_id=clinic_id,
            start=start,
            end=end,
            indication=data["indication"] or None,
            route=data["route"] or None,
            min_age=low,
            max_age=high,
            sex=data["sex"] or None,
        )


@requires("registry.export")
def research_export(request: KetacareRequest) -> HttpResponse:
    form = ExportForm(request.POST if request.method == "POST" else None)
    clinic_id = request.actor.clinic.pk
    if request.method == "POST" and form.is_valid():
        result = actions.export_cohort(
            request.actor, form.cohort(clinic_id), form.cleaned_data["formats"]
        )
        response = HttpResponse(writers.zipped(result.files), content_type="application/zip")
        response["Content-Disposition"] = 'attachment; filename="research-export.zip"'
        return response
    return render(
        request,
        "registry/export.html",
        {
            "form": form,
            "max_shift": safe_harbor.MAX_SHIFT_DAYS,
            "top_age": safe_harbor.OLDEST_AGE + 1,
            "consent_rule": consent.CONSENT_RULE,
            "left_out": consent.left_out_for(request.actor, consent.without_consent(clinic_id)),
        },
    )
