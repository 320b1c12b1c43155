"""The reminder pages' forms: parse and bound only; the actions decide."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from ketacare.reminders.models import Channel
from ketacare.reminders.rules import LONGEST_LEAD_HOURS


class SettingsForm(forms.Form):
    lead_hours = forms.CharField(
        label="Send reminders this many hours before",
        max_length=40,
        help_text=f"Whole hours, separated by commas (e.g. 48, 2); at most {LONGEST_LEAD_HOURS}.",
    )
    channels = forms.MultipleChoiceField(
        label="Send by",
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    late_cancel_hours = forms.IntegerField(
        label="A cancellation is late when fewer hours than this before the start",
        min_value=0,
        max_value=LONGEST_LEAD_HOURS,
    )

    def clean_lead_hours(self) -> list[int]:
        parts = [p.strip() for p in self.cleaned_data["lead_hours"].split(",") if p.strip()]
        if not parts or not all(p.isdigit() and len(p) <= 4 for p in parts):
            raise forms.ValidationError("Write whole hours separated by commas, e.g. 48, 2.")
        hours = [int(p) for p in parts]
        if any(not 0 < h <= LONGEST_LEAD_HOURS for h in hours):
            raise forms.ValidationError(f"Each lead time is 1 to {LONGEST_LEAD_HOURS} hours.")
        return hours


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why? (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class InboundSmsForm(forms.Form):
    """What a gateway posts for a text the patient sent back."""

    sender = forms.CharField(max_length=40)
    body = forms.CharField(max_length=1600, required=False, strip=False)

    def __init__(self, data: Any) -> None:
        # The gateway's field is "from", a Python keyword; some gateways capitalise both.
        sender = data.get("from") or data.get("From") or ""
        super().__init__({"sender": sender, "body": data.get("body") or data.get("Body") or ""})
