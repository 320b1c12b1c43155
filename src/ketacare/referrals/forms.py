"""The public forms: parse and bound, no decisions, no writes."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ketacare.bounds import BoundedDateField
from ketacare.measures.forms import AnswersForm, answers_form_class
from ketacare.referrals.models import EMAIL_MAX, NAME_MAX, PHONE_MAX, TEXT_MAX, Referral
from ketacare.referrals.screener import instrument
from ketacare.web.widgets import DateInput, text_area

HONEYPOT = "website"


def check_phone(value: str) -> str:
    """A phone number as typed, trimmed; blank allowed (the field says if it is required)."""
    phone = value.strip()
    if phone and not all(c.isdigit() or c in " +-()." for c in phone):
        raise forms.ValidationError(_("A phone number has only digits, spaces and + - ( )."))
    if phone and sum(c.isdigit() for c in phone) < 7:
        raise forms.ValidationError(_("This phone number is too short."))
    return phone


def _honeypot() -> forms.CharField:
    # Hidden from people by CSS (and from screen readers by aria-hidden in the template); a
    # script that fills every field fills it.
    return forms.CharField(required=False, max_length=200, label=_("Leave this empty"))


def screener_form_class() -> type[AnswersForm]:
    """The C-SSRS screener as the patient-link form builds it, worded in the clinic's words,
    with a honeypot."""
    base = answers_form_class(instrument(), for_patient=True, ask_sex=False)
    form_class: type[AnswersForm] = type("ScreenerForm", (base,), {HONEYPOT: _honeypot()})
    return form_class


def label_screener(form: AnswersForm, questions: tuple[str, ...]) -> None:
    """Put the clinic's wording on the questions and say the skip logic in plain words."""
    for item, question in zip(instrument().items, questions, strict=True):
        field = form.fields[f"item_{item.number}"]
        field.label = f"{item.number}. {question}"
        after = instrument().requires.get(item.number)
        if after is not None:
            field.help_text = _("Answer this only if you answered yes to question %(number)s.") % {
                "number": after
            }


class DetailsForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=2000)
    given_name = forms.CharField(label=_("First name"), max_length=NAME_MAX)
    family_name = forms.CharField(label=_("Last name"), max_length=NAME_MAX)
    date_of_birth = BoundedDateField(label=_("Date of birth"), widget=DateInput())
    phone = forms.CharField(label=_("Phone"), max_length=PHONE_MAX, required=False)
    email = forms.EmailField(label=_("Email"), max_length=EMAIL_MAX, required=False)
    preferred_contact = forms.ChoiceField(
        label=_("How should we contact you?"),
        # The model's values, worded for the patient in the page's language.
        choices=[
            (Referral.Contact.PHONE, _("Phone call")),
            (Referral.Contact.TEXT, _("Text message")),
            (Referral.Contact.EMAIL, _("Email")),
        ],
        widget=forms.RadioSelect,
    )
    voicemail_ok = forms.BooleanField(
        label=_("We may leave a voicemail or message"), required=False
    )
    reason = forms.CharField(
        label=_("Why are you looking for treatment?"), max_length=TEXT_MAX, widget=text_area(4)
    )
    current_treatment = forms.CharField(
        label=_("Your current treatment and medicines (if any)"),
        max_length=TEXT_MAX,
        required=False,
        widget=text_area(3),
    )
    consent_to_contact = forms.BooleanField(
        label=_("I agree that the clinic may contact me about this referral"),
        error_messages={"required": _("We can only contact you if you agree to it.")},
    )
    website = _honeypot()

    def clean_phone(self) -> str:
        return check_phone(self.cleaned_data["phone"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None
        contact = cleaned.get("preferred_contact")
        if contact in ("phone", "text") and not cleaned.get("phone"):
            self.add_error("phone", _("Please give the phone number to reach you on."))
        if contact == "email" and not cleaned.get("email"):
            self.add_error("email", _("Please give the email address to reach you at."))
        return cleaned

    def details(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("token", HONEYPOT)}


class CallbackForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=2000)
    given_name = forms.CharField(label=_("Your first name"), max_length=NAME_MAX, required=False)
    phone = forms.CharField(label=_("Phone number we can call"), max_length=PHONE_MAX)
    voicemail_ok = forms.BooleanField(label=_("We may leave a voicemail"), required=False)
    website = _honeypot()

    clean_phone = DetailsForm.clean_phone
