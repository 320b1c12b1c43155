"""The public provider referral form: parse and bound, no decisions, no writes."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ketacare.bounds import BoundedDateField
from ketacare.referrals.forms import HONEYPOT, _honeypot, check_phone
from ketacare.referrals.models import EMAIL_MAX, NAME_MAX, PHONE_MAX, PRACTICE_MAX, TEXT_MAX
from ketacare.referrals.npi import is_valid_npi
from ketacare.web.widgets import DateInput, text_area


class ProviderReferralForm(forms.Form):
    referrer_name = forms.CharField(
        label=_("Your name (the referring clinician)"), max_length=NAME_MAX
    )
    referrer_practice = forms.CharField(
        label=_("Practice or organisation"), max_length=PRACTICE_MAX
    )
    referrer_npi = forms.CharField(label=_("Your NPI (10 digits)"), max_length=20)
    referrer_phone = forms.CharField(label=_("Your phone"), max_length=PHONE_MAX)
    referrer_email = forms.EmailField(label=_("Your email"), max_length=EMAIL_MAX, required=False)
    given_name = forms.CharField(label=_("Patient's first name"), max_length=NAME_MAX)
    family_name = forms.CharField(label=_("Patient's last name"), max_length=NAME_MAX)
    date_of_birth = BoundedDateField(label=_("Patient's date of birth"), widget=DateInput())
    phone = forms.CharField(label=_("Patient's phone"), max_length=PHONE_MAX, required=False)
    email = forms.EmailField(label=_("Patient's email"), max_length=EMAIL_MAX, required=False)
    reason = forms.CharField(
        label=_("Reason for referral"), max_length=TEXT_MAX, widget=text_area(4)
    )
    current_treatment = forms.CharField(
        label=_("Current treatment and medicines"),
        max_length=TEXT_MAX,
        required=False,
        widget=text_area(3),
    )
    letter = forms.FileField(
        label=_("Referral letter (optional: PDF, PNG or JPEG)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}),
    )
    consent_to_contact = forms.BooleanField(
        label=_("The patient agreed that the clinic may contact them about this referral"),
        error_messages={"required": _("We can only contact a patient who agreed to it.")},
    )
    website = _honeypot()

    def clean_phone(self) -> str:
        return check_phone(self.cleaned_data["phone"])

    def clean_referrer_phone(self) -> str:
        return check_phone(self.cleaned_data["referrer_phone"])

    def clean_referrer_npi(self) -> str:
        npi = "".join(c for c in self.cleaned_data["referrer_npi"] if c not in " -")
        if not is_valid_npi(npi):
            raise forms.ValidationError(_("This is not a valid NPI (10 digits, check digit)."))
        return npi

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None
        if not (cleaned.get("phone") or cleaned.get("email")) and not self.has_error("phone"):
            self.add_error("phone", _("Please give the patient's phone number or email address."))
        return cleaned

    def details(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("letter", HONEYPOT)}
