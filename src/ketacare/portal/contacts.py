"""Which patient a phone number or an email address typed at the portal's sign-in belongs to."""

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from ketacare.accounts.models import Clinic
from ketacare.patients.models import Patient
from ketacare.patients.phones import digits, with_phone

SHORTEST_PHONE = 7


@dataclass(frozen=True)
class Contact:
    """A typed contact, normalised: an email address in lower case, or a phone's digits."""

    channel: str  # "sms" or "email", as SignInCode.Channel
    value: str


def parse(typed: str) -> Contact | None:
    """The contact ``typed`` names, or None if it is neither an email address nor a phone."""
    text = typed.strip()
    if "@" in text:
        try:
            validate_email(text)
        except ValidationError:
            return None
        return Contact("email", text.lower())
    number = digits(text)
    if len(number) < SHORTEST_PHONE or any(c.isalpha() for c in text):
        return None
    return Contact("sms", number)


def digest(clinic: Clinic, contact: Contact) -> str:
    """A keyed digest of the contact at ``clinic``: what the rate limits and codes hold."""
    key = settings.SECRET_KEY.encode()
    message = f"{clinic.pk}:{contact.channel}:{contact.value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def patients_with(clinic: Clinic, contact: Contact) -> list[Patient]:
    """The clinic's patients whose chart holds this contact."""
    if contact.channel == "email":
        return list(Patient.objects.filter(clinic=clinic, email__iexact=contact.value))
    return with_phone(Patient.objects.filter(clinic=clinic), contact.value)
