"""What a staff password may not be, beyond Django's own rules (length, the user's own name,
the common-password list, all digits).

Both validators here are in ``settings.AUTH_PASSWORD_VALIDATORS``, so every path that sets a
password through ``validate_password`` applies them: the change page, ``create_staff`` (the
staff page and ``ketacare createstaff``) and Django's ``changepassword``.

The common-password list is Django's (about 20,000 passwords, drawn from breach corpora); it is
shipped with Django, so the check needs no network. No larger offline list is among the
project's locked dependencies.
"""

import re
import secrets
from typing import Any

from django.contrib.auth.password_validation import CommonPasswordValidator, validate_password
from django.core.exceptions import ValidationError

from ketacare.accounts.models import Clinic, User

# The product's own name is printed on every page: the first word someone guesses.
PRODUCT_NAMES = ("ketacare",)
# A word of a clinic's name shorter than this ("of", "St") says nothing about the clinic.
MIN_WORD_LETTERS = 4
# Digits and symbols people write for letters ("K3tacare", "R1vers1de", "$un").
LOOKALIKES = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
# An account being created has no membership yet: create_staff names its clinic here.
PENDING_CLINICS_ATTRIBUTE = "password_clinic_names"


def _letters(text: str) -> str:
    """Only the letters, in lower case: "Riverside-2026!" and "river side 26" both read
    "riverside…", so digits, spaces and punctuation cannot hide a word."""
    return "".join(ch for ch in text.lower() if ch.isalpha())


def _readings(password: str) -> set[str]:
    """The password as letters only, read plainly and with look-alike digits as letters."""
    return {_letters(password), _letters(password.lower().translate(LOOKALIKES))}


def for_clinic(user: Any, clinic: Clinic) -> Any:
    """Mark an account not yet saved as joining ``clinic``, so that the clinic's name is checked
    before the membership exists."""
    setattr(user, PENDING_CLINICS_ATTRIBUTE, [clinic.name])
    return user


def clinic_names(user: Any) -> list[str]:
    """The names of the clinics the account belongs to (active or not) or is joining."""
    names = list(getattr(user, PENDING_CLINICS_ATTRIBUTE, []) or [])
    if user is not None and getattr(user, "pk", None):
        names += Clinic.objects.filter(memberships__user=user).values_list("name", flat=True)
    return names


def forbidden_words(user: Any) -> list[str]:
    """Every word of the user's clinics' names long enough to mean something, and the product's
    name, as letters only."""
    words = list(PRODUCT_NAMES)
    for name in clinic_names(user):
        for word in re.split(r"[^\w]+|_", name):
            letters = _letters(word)
            if len(letters) >= MIN_WORD_LETTERS and letters not in words:
                words.append(letters)
    return words


def machine_secret(clinic: Clinic) -> str:
    """A password nobody types, for an account made by a program (the demo's logins before
    their published password is set, the synthetic clinic's staff): 256 random bits as hex,
    which ``accounts.hashers.MachineSecretHasher`` also takes, drawn again while the rules
    refuse it, since hex can still read as a word of the clinic's name ("7e57" reads "test")."""
    while True:
        secret = secrets.token_hex(32)
        try:
            validate_password(secret, for_clinic(User(), clinic))
        except ValidationError:
            continue
        return secret


class ClinicNameValidator:
    """Refuse a password containing a word of the name of a clinic the user works at (or is
    being added to) or the product's name, however written: "Riverside-2026",
    "riverside2026!" and "R1VERSIDE" are all refused for the Riverside Ketamine Clinic."""

    def validate(self, password: str, user: Any = None) -> None:
        readings = _readings(password)
        for word in forbidden_words(user):
            if any(word in reading for reading in readings):
                raise ValidationError(
                    f"This password contains “{word}”, the name of your clinic or of ketacare. "
                    "Anyone who knows where you work would try it first.",
                    code="password_contains_clinic_name",
                )

    def get_help_text(self) -> str:
        return "Your password cannot contain your clinic's name or “ketacare”."


class CommonPasswordVariantValidator:
    """Refuse a common password dressed up with digits and symbols ("Password2026!",
    "summer-2025", "1qaz2wsx!"): Django's validator only refuses the list's exact entries.

    The password is read without spaces and symbols, then without up to four digits at either
    end (a year, a PIN: the first things cracking tools add); if either reading is on the list,
    it is refused. A long run of digits is left alone: that is no longer a common password."""

    def __init__(self) -> None:
        self.passwords = CommonPasswordValidator().passwords

    def validate(self, password: str, user: Any = None) -> None:
        squeezed = re.sub(r"[\W_]+", "", password.lower())
        core = re.fullmatch(r"\d{0,4}(.*?)\d{0,4}", squeezed, re.DOTALL).group(1)  # type: ignore[union-attr]
        for reading in {squeezed, core}:
            if reading and reading in self.passwords:
                raise ValidationError(
                    "This password is a common password with digits or symbols added. "
                    "Such passwords are among the first tried after a breach.",
                    code="password_too_common",
                )

    def get_help_text(self) -> str:
        return "Your password cannot be a common password, even with digits or symbols added."
