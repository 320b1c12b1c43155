from typing import TypedDict

from django import forms
from django.contrib.auth.password_validation import validate_password

from ketacare.accounts import passwords
from ketacare.accounts.models import Clinic, User
from ketacare.accounts.permissions import Role
from ketacare.web.widgets import current_password_input, new_password_input, text_area


def _phone_field(label: str, help_text: str = "") -> forms.RegexField:
    """An optional telephone number as people write them."""
    return forms.RegexField(
        label=label,
        required=False,
        max_length=40,
        regex=r"^\+?[0-9 ().-]*$",
        error_messages={"invalid": "Use digits, spaces and + ( ) . - only."},
        help_text=help_text,
    )


class StaffDetailsForm(forms.Form):
    """What a clinic admin may change about a staff member: name, contact, role here."""

    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    mobile = _phone_field("Mobile", "For urgent texts, such as a patient's safety alert.")
    role = forms.ChoiceField(
        label="Role at this clinic",
        choices=[(r.value, r.label) for r in Role],
        widget=forms.RadioSelect,
    )


class StaffForm(StaffDetailsForm):
    field_order = ["username", "first_name", "last_name", "email", "mobile", "role", "password"]

    username = forms.RegexField(
        regex=r"^[\w.@+-]+$",
        max_length=150,
        error_messages={"invalid": "Use letters, digits and @ . + - _ only."},
    )
    password = forms.CharField(
        widget=forms.PasswordInput,
        help_text="At least 12 characters; the staff member must change it at first sign-in.",
    )

    def __init__(self, *args: object, clinic: Clinic | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.clinic = clinic  # whose name the password may not contain

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        # Usernames are shared by every clinic of a deployment: never attach an existing
        # account (perhaps another clinic's person) to this clinic by typing its name.
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("This username is taken. Choose another.")
        return str(username)

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        if password:
            user = User(
                username=cleaned.get("username", ""),
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
                email=cleaned.get("email", ""),
            )
            if self.clinic is not None:
                passwords.for_clinic(user, self.clinic)
            try:
                validate_password(password, user)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


def authenticator_code_field(
    label: str = "Your authenticator code", *, someone_else: bool = False
) -> forms.CharField:
    """The optional authenticator code of a password prompt: asked of whoever must give one at
    sign-in (accounts.reauth decides, and refuses without it in the same words as a wrong
    password). ``someone_else``: another person (a witness) types it on this session's screen,
    so the browser must not offer the signed-in user's one-time code."""
    if someone_else:
        help_text = "Only if they use an authenticator app: the 6-digit code it shows now."
        attrs = {"autocomplete": "off", "inputmode": "numeric", "autocapitalize": "none"}
    else:
        help_text = "If you sign in with an authenticator app: the 6-digit code it shows now."
        attrs = {"autocomplete": "one-time-code", "inputmode": "numeric"}
    return forms.CharField(
        label=label,
        required=False,
        max_length=10,
        help_text=help_text,
        widget=forms.TextInput(attrs=attrs),
    )


class PasswordChangeForm(forms.Form):
    """One's own new password, typed twice, after the current one (checked by the action)."""

    current_password = forms.CharField(
        label="Current password",
        strip=False,
        widget=current_password_input(),
    )
    code = authenticator_code_field("Authenticator code")
    new_password = forms.CharField(
        label="New password",
        strip=False,
        widget=new_password_input(),
        help_text="At least 12 characters. Not your name or username, not your clinic's name or "
        "“ketacare”, not a common password (even with digits or symbols added). A few unrelated "
        "words make a good one.",
    )
    new_password_again = forms.CharField(
        label="New password again",
        strip=False,
        widget=new_password_input(),
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        new, again = cleaned.get("new_password"), cleaned.get("new_password_again")
        if new and again and new != again:
            self.add_error("new_password_again", "The two new passwords differ. Type it again.")
        return cleaned


class TokenForm(forms.Form):
    token = forms.RegexField(
        regex=r"^\d{6}$",
        label="6-digit code from your authenticator app",
        error_messages={"invalid": "Enter the 6 digits shown in your authenticator app."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ClinicDetails(TypedDict):
    """What ``update_clinic_details`` takes, as the form cleans it."""

    address: str
    phone: str
    on_call_prescriber_id: int | None
    country: str


class ClinicDetailsForm(forms.Form):
    address = forms.CharField(
        label="Address",
        required=False,
        max_length=500,
        widget=text_area(3),
        help_text="Printed on the esketamine REMS Patient Monitoring Form.",
    )
    phone = _phone_field("Phone")
    on_call_prescriber = forms.TypedChoiceField(
        label="On-call prescriber for safety alerts",
        required=False,
        coerce=int,
        empty_value=None,
        help_text="Told at once by email and text when a patient's safety alert opens; with "
        "nobody on call, every active prescriber of the clinic is told.",
    )

    country = forms.ChoiceField(
        label="Country",
        required=False,
        help_text="Whose crisis lines the patient pages show (the referral form, the portal).",
    )

    def __init__(
        self,
        *args: object,
        prescribers: list[User],
        countries: dict[str, str],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        country = self.fields["country"]
        assert isinstance(country, forms.ChoiceField)
        country.choices = list(countries.items())
        on_call = self.fields["on_call_prescriber"]
        assert isinstance(on_call, forms.TypedChoiceField)
        on_call.choices = [("", "Nobody: every prescriber")] + [
            (user.pk, user.get_full_name() or user.get_username()) for user in prescribers
        ]

    def cleaned_data_for_action(self) -> ClinicDetails:
        data = self.cleaned_data
        return {
            "address": data["address"],
            "phone": data["phone"],
            "on_call_prescriber_id": data["on_call_prescriber"],
            "country": data["country"],
        }
