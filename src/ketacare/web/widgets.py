"""The form widgets every app's forms share, so that a date, a password prompt or a number
field looks and behaves the same on every page."""

from django import forms


class DateInput(forms.DateInput):
    """The browser's date picker."""

    input_type = "date"


def datetime_input() -> forms.DateTimeInput:
    """The browser's date-and-time picker (local time)."""
    return forms.DateTimeInput(attrs={"type": "datetime-local"})


def text_area(rows: int = 2) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


def decimal_input() -> forms.TextInput:
    """A number with a decimal point: the phone's number keyboard, no remembered values."""
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})


def numeric_input() -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})


def current_password_input() -> forms.PasswordInput:
    """The signed-in user's own password, which the browser may fill in."""
    return forms.PasswordInput(attrs={"autocomplete": "current-password"})


def new_password_input() -> forms.PasswordInput:
    """A password the browser must not fill in with the signed-in user's saved one."""
    return forms.PasswordInput(attrs={"autocomplete": "new-password"})
