"""Signed patient-link tokens and the messages that carry them (sent through the actor's
``outbox``)."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "ketacare.measures.patient-link"


def token_for(public_id: str) -> str:
    return signing.Signer(salt=SALT).sign(public_id)


def public_id_from(token: str) -> str | None:
    """The link's public id, or None if the token was not signed by this server."""
    try:
        return signing.Signer(salt=SALT).unsign(token)
    except signing.BadSignature:
        return None


def absolute_url(token: str) -> str:
    return settings.KETACARE_BASE_URL.rstrip("/") + reverse("patient-link", args=[token])


def message_text(clinic_name: str, url: str, hours: int) -> str:
    # No diagnosis, instrument or name in the message: phones show it on the lock screen.
    return (
        f"{clinic_name} asks you to answer a few short questions before your next visit: "
        f"{url} (the link works once and expires in {hours} hours)."
    )


def subject(clinic_name: str) -> str:
    """The email's subject: the clinic, nothing else (see ``message_text``)."""
    return f"A message from {clinic_name}"
