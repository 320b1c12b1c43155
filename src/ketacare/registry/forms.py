from typing import Any

from django import forms

from ketacare.bounds import BoundedDateField
from ketacare.clinical.eligibility import ROUTES
from ketacare.patients.models import Patient
from ketacare.planning.answers import CHOICE_LABELS, ROUTE_LABELS
from ketacare.registry.dataset import Cohort
from ketacare.web.widgets import DateInput

AGE_BANDS = {
    "": (None, None),
    "18-29": (18, 29),
    "30-44": (30, 44),
    "45-64": (45, 64),
    "65-89": (65, 89),
    "90+": (90, None),
}
INDICATIONS = ["trd", "mdd_with_suicidal_ideation", "anxiety", "ptsd", "ocd", "other"]


class CohortForm(forms.Form):
    start = BoundedDateField(label="First dose from", required=False, widget=DateInput())
    end = BoundedDateField(label="to", required=False, widget=DateInput())
    indication = forms.ChoiceField(
        required=False, choices=[("", "Any"), *((i, CHOICE_LABELS[i]) for i in INDICATIONS)]
    )
    route = forms.ChoiceField(
        required=False, choices=[("", "Any"), *((r, ROUTE_LABELS[r]) for r in ROUTES)]
    )
    age_band = forms.ChoiceField(
        label="Age", required=False, choices=[(k, k or "Any") for k in AGE_BANDS]
    )
    sex = forms.ChoiceField(required=False, choices=[("", "Any"), *Patient.SexAtBirth.choices])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError("The end of the range is before its start.")
        return data

    def cohort(self, clinic_id: int) -> Cohort:
        data = self.cleaned_data
        low, high = AGE_BANDS[data.get("age_band") or ""]
        return Cohort(
            clinic_id=clinic_id,
            start=data.get("start"),
            end=data.get("end"),
            indication=data.get("indication") or None,
            route=data.get("route") or None,
            min_age=low,
            max_age=high,
            sex=data.get("sex") or None,
        )
