from django import forms
from django.utils.translation import gettext_lazy as _


class ContactForm(forms.Form):
    contact = forms.CharField(
        label=_("Your mobile number or email address"),
        max_length=200,
        help_text=_("The one the clinic has for you. We send a code to it."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "inputmode": "email"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("The code we sent you"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*"}
        ),
    )
