from django import forms

from ketacare.audit.models import AuditEvent
from ketacare.bounds import BoundedDateField
from ketacare.web.widgets import DateInput


class AuditFilterForm(forms.Form):
    patient = forms.CharField(required=False, label="Patient MRN", max_length=16)
    user = forms.CharField(required=False, label="Username", max_length=150)
    action = forms.ChoiceField(
        required=False, choices=[("", "Any action"), *AuditEvent.Action.choices]
    )
    date_from = BoundedDateField(required=False, label="From", widget=DateInput())
    date_to = BoundedDateField(required=False, label="To", widget=DateInput())

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned
