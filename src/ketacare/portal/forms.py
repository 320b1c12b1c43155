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


class MessageForm(forms.Form):
    """A message to the clinic. Its length and the day's number are checked by the action
    (``messaging``), which says what is wrong; the form only carries the text."""

    body = forms.CharField(
        label=_("Your message"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def __init__(self, *args: object, max_characters: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["body"].widget.attrs["maxlength"] = str(max_characters)


class ChangeRequestForm(MessageForm):
    def __init__(self, *args: object, max_characters: int, **kwargs: object) -> None:
        super().__init__(*args, max_characters=max_characters, **kwargs)
        self.fields["body"].label = _("What would you like to change?")
        self.fields["body"].help_text = _(
            "For example the days or times that suit you. The clinic will answer here."
        )
