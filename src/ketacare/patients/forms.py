import re
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone

from ketacare.bounds import (
    BoundedDateField,
    BoundedDateTimeField,
    BoundedDecimalField,
    date_problem,
)
from ketacare.clinical.measurements import date_of_birth_problem, height_problem, weight_problem
from ketacare.patients.models import DEMOGRAPHIC_FIELDS, BodyMeasurement, ConsentRecord, Patient
from ketacare.web.widgets import DateInput, datetime_input, text_area

if TYPE_CHECKING:
    # ModelForm takes its model as a parameter for mypy (django-stubs) only; at runtime it
    # is not subscriptable.
    _PatientModelForm = forms.ModelForm[Patient]
    _MeasurementModelForm = forms.ModelForm[BodyMeasurement]
    _ConsentModelForm = forms.ModelForm[ConsentRecord]
else:
    _PatientModelForm = _MeasurementModelForm = _ConsentModelForm = forms.ModelForm

PHONE = re.compile(r"^\+?[0-9 ()./-]{6,30}$")


class PatientForm(_PatientModelForm):
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Patient
        fields = DEMOGRAPHIC_FIELDS
        widgets = {
            "date_of_birth": DateInput(),
            "address": text_area(),
            "allergies": text_area(),
            "current_medications": text_area(3),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
        # Dosing and prescribing read this field: "not asked" must not look like "none known".
        self.fields["allergies"].required = True
        self.fields["allergies"].error_messages["required"] = (
            "Record the patient's allergies, or NKDA if none are known."
        )

    def clean_date_of_birth(self) -> date:
        dob: date = self.cleaned_data["date_of_birth"]
        # The clinical check says more ("in the future"); the bounds hold if its data change.
        today = timezone.localdate()
        problem = date_of_birth_problem(dob, today) or date_problem(dob, today, "Date of birth")
        if problem:
            raise forms.ValidationError(problem)
        return dob

    def _clean_phone(self, field: str) -> str:
        value: str = self.cleaned_data[field].strip()
        if value and not PHONE.match(value):
            raise forms.ValidationError(
                "Enter a phone number using digits, spaces, + ( ) - only, e.g. +1 555 010 0199."
            )
        return value

    def clean_phone(self) -> str:
        return self._clean_phone("phone")

    def clean_emergency_contact_phone(self) -> str:
        return self._clean_phone("emergency_contact_phone")


class MeasurementForm(_MeasurementModelForm):
    class Meta:
        model = BodyMeasurement
        fields = ["measured_on", "weight_kg", "height_cm"]
        field_classes = {"measured_on": BoundedDateField}
        widgets = {"measured_on": DateInput()}
        labels = {"weight_kg": "Weight (kg)", "height_cm": "Height (cm)"}

    def clean_measured_on(self) -> date:
        measured_on: date = self.cleaned_data["measured_on"]
        if measured_on > timezone.localdate():
            raise forms.ValidationError("A measurement cannot be dated in the future.")
        return measured_on

    def clean_weight_kg(self) -> Decimal:
        weight: Decimal = self.cleaned_data["weight_kg"]
        problem = weight_problem(weight)
        if problem:
            raise forms.ValidationError(problem)
        return weight

    def clean_height_cm(self) -> Decimal | None:
        height: Decimal | None = self.cleaned_data.get("height_cm")
        if height is not None:
            problem = height_problem(height)
            if problem:
                raise forms.ValidationError(problem)
        return height


class NewPatientForm(PatientForm):
    """Registration also takes the first weight and height, which dosing will need, from staff
    whose role may record measurements (``with_measurement``)."""

    weight_kg = BoundedDecimalField(
        label="Weight (kg)", max_digits=5, decimal_places=1, required=False
    )
    height_cm = BoundedDecimalField(
        label="Height (cm)", max_digits=5, decimal_places=1, required=False
    )

    def __init__(self, *args: Any, with_measurement: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["version"]  # a new record has no earlier version to conflict with
        if not with_measurement:
            del self.fields["weight_kg"], self.fields["height_cm"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None, "ModelForm.clean returns cleaned_data"
        weight, height = cleaned.get("weight_kg"), cleaned.get("height_cm")
        if weight is not None and (problem := weight_problem(weight)):
            self.add_error("weight_kg", problem)
        if height is not None and (problem := height_problem(height)):
            self.add_error("height_cm", problem)
        if height is not None and weight is None:
            self.add_error("weight_kg", "Record a weight with the height.")
        return cleaned


class ConsentForm(_ConsentModelForm):
    class Meta:
        model = ConsentRecord
        fields = ["kind", "decision", "version", "signed_at", "signed_by"]
        field_classes = {"signed_at": BoundedDateTimeField}
        widgets = {"signed_at": datetime_input()}

    def clean_signed_at(self) -> datetime:
        signed_at: datetime = self.cleaned_data["signed_at"]
        if signed_at > timezone.now():
            raise forms.ValidationError("A consent cannot be signed in the future.")
        return signed_at
