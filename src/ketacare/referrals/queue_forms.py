"""The intake queue's forms: each parses what one action takes; the action judges it."""

from django import forms

from ketacare.patients.models import Patient
from ketacare.referrals import states
from ketacare.referrals.models import TEXT_MAX, ContactAttempt
from ketacare.web.widgets import datetime_input


class ContactForm(forms.Form):
    at = forms.DateTimeField(label="When", widget=datetime_input())
    channel = forms.ChoiceField(choices=ContactAttempt.Channel.choices)
    outcome = forms.ChoiceField(choices=ContactAttempt.Outcome.choices)
    note = forms.CharField(
        required=False, max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )


class CloseForm(forms.Form):
    state = forms.ChoiceField(
        choices=[(s, states.LABELS[s]) for s in (states.NOT_A_FIT, states.WITHDRAWN)]
    )
    reason = forms.ChoiceField(
        required=False,
        choices=[("", "—"), *states.NOT_A_FIT_REASONS.items()],
        help_text="For not a fit.",
    )
    referred_to = forms.CharField(
        required=False, max_length=300, help_text="For not a fit: where the person was referred."
    )
    note = forms.CharField(
        required=False, max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )


class AcceptForm(forms.Form):
    # Empty: register a new patient. Else the likely duplicate the person turned out to be.
    existing_patient_id = forms.IntegerField(required=False, min_value=1)
    # Asked only of a new patient; the action says when it is missing.
    sex_at_birth = forms.ChoiceField(
        required=False, choices=[("", "—"), *Patient.SexAtBirth.choices]
    )
    evaluation_start = forms.DateTimeField(
        required=False,
        widget=datetime_input(),
        help_text="Leave empty to accept without booking the evaluation yet.",
    )
    chair_id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    # The likely duplicates shown on the page, which the user says are someone else.
    confirmed_duplicates = forms.CharField(required=False, widget=forms.HiddenInput)
    not_a_duplicate = forms.BooleanField(
        required=False, label="The patients listed above are someone else"
    )

    def confirmed(self) -> list[int]:
        if not self.cleaned_data.get("not_a_duplicate"):
            return []
        raw = self.cleaned_data.get("confirmed_duplicates") or ""
        return [int(part) for part in raw.split(",") if part.strip().isdigit()]
