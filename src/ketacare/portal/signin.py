"""Signing in to the portal without a password: a one-time code to the phone or email on file.

Asking for a code tells nobody whether the contact is a patient's: the same answer comes for
every contact, a code is sent only to a contact on exactly one chart, and the rate limits
(``data/portal.toml``) count every request, known contact or not.

Checking a code is a sign-in (docs/decisions/0121): it goes through
``django.contrib.auth.authenticate`` with django-axes in front, as a staff password does, so
failures count toward the same lock-out (``AXES_FAILURE_LIMIT`` for the contact), every
failure is audited (``LOGIN_FAILED``), and whatever went wrong — a wrong, used or expired
code, a locked contact — the patient reads the one message ``REFUSED``.
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any, NoReturn

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from ketacare.accounts.models import Clinic
from ketacare.accounts.reauth import prompt_request
from ketacare.actor import Actor
from ketacare.audit.record import Action, record
from ketacare.clinical.datafiles import load
from ketacare.outbox import send_or_log
from ketacare.patients.models import Patient
from ketacare.portal import contacts
from ketacare.portal.models import SignInCode, SignInRequest
from ketacare.referrals.ratelimit import address_digest
from ketacare.refusals import ActionRefused

PROMPT = "patient portal code"
NOW_ATTRIBUTE = "ketacare_portal_now"


class SignInRefused(ActionRefused):
    """A code that does not sign in: always the one message."""

    def __init__(self) -> None:
        super().__init__(_("That code was not accepted. Ask for a new code, or call the clinic."))


class TooManyRequests(ActionRefused):
    pass


def policy() -> dict[str, Any]:
    return load("portal", "ketacare.portal")


def portal_actor(clinic: Clinic, ip: str | None, actor: Actor) -> Actor:
    """The actor for a patient at the portal (no user; the clinic's chain), at ``actor``'s
    time and with its outbox."""
    return Actor(
        user=None, role="patient", clinic=clinic, ip=ip, clock=actor.clock, outbox=actor.outbox
    )


def username_for(clinic: Clinic, contact: contacts.Contact) -> str:
    """The name django-axes counts a contact's failures under: never a staff username (those
    cannot hold a colon), and no contact in clear."""
    return f"portal:{contacts.digest(clinic, contact)[:32]}"


def _code_digest(code: str, contact_digest: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{contact_digest}:{code}".encode(), hashlib.sha256).hexdigest()


def request_code(actor: Actor, typed: str) -> contacts.Contact:
    """Send a code to ``typed`` if it is the phone or email on exactly one of the clinic's
    charts. Returns the parsed contact (the code page needs it). Raises ActionRefused for a
    contact that is neither a phone nor an email, TooManyRequests past the limits; otherwise
    the caller says the same thing whatever happened."""
    assert actor.clinic is not None
    clinic = actor.clinic
    contact = contacts.parse(typed)
    if contact is None:
        raise ActionRefused(_("Type the mobile number or the email address the clinic has."))
    rules = policy()
    now = actor.now()
    code = f"{secrets.randbelow(10 ** rules['code']['digits']):0{rules['code']['digits']}d}"
    with transaction.atomic():
        patient = _count_and_find(clinic, contact, actor.ip, now, rules["requests"])
        if patient is None:
            return contact
        digest = contacts.digest(clinic, contact)
        sent = SignInCode.objects.create(
            patient=patient,
            contact_digest=digest,
            channel=contact.channel,
            code_digest=_code_digest(code, digest),
            created_at=now,
            expires_at=now + timedelta(minutes=rules["code"]["valid_minutes"]),
        )
        record(
            actor,
            Action.CREATE,
            obj=sent,
            object_type="portal_sign_in_code",
            patient=patient,
            changes={"channel": contact.channel},
        )
    _send(actor, patient, contact.channel, code, rules["code"]["valid_minutes"])
    return contact


def _count_and_find(
    clinic: Clinic,
    contact: contacts.Contact,
    ip: str | None,
    now: datetime,
    limits: dict[str, Any],
) -> Patient | None:
    """Count the request against the limits (TooManyRequests past them), then the one patient
    the contact belongs to, or None (none, or shared by several: a code could not say whose
    record it opens)."""
    since = now - timedelta(minutes=limits["window_minutes"])
    by_address = address_digest(ip)
    by_contact = contacts.digest(clinic, contact)
    recent = SignInRequest.objects.filter(at__gt=since)
    if (
        recent.filter(address_digest=by_address).count() >= limits["per_address"]
        or recent.filter(contact_digest=by_contact).count() >= limits["per_contact"]
    ):
        raise TooManyRequests(
            _("Too many codes were asked for. Please wait an hour, or call the clinic.")
        )
    SignInRequest.objects.create(
        clinic=clinic, address_digest=by_address, contact_digest=by_contact, at=now
    )
    found = contacts.patients_with(clinic, contact)
    return found[0] if len(found) == 1 else None


def _send(actor: Actor, patient: Patient, channel: str, code: str, minutes: int) -> None:
    """To the phone or address as the chart holds it (what was typed only matched it)."""
    # No name or record in the message: phones show it on the lock screen.
    body = _(
        "%(code)s is your %(clinic)s sign-in code. It expires in %(minutes)s minutes. "
        "The clinic never asks you for it."
    ) % {"code": code, "clinic": patient.clinic.name, "minutes": minutes}
    to = patient.email if channel == "email" else patient.phone
    # Unsent, the page says the same (no enumeration); the patient can ask again.
    send_or_log(actor.outbox, channel, to, _("Your sign-in code"), body, "A portal sign-in code")


def sign_in(actor: Actor, contact: contacts.Contact, code: str) -> Patient:
    """The patient ``code`` signs in, or SignInRefused; ``actor`` is the portal's (no user)."""
    assert actor.clinic is not None
    clinic = actor.clinic
    username = username_for(clinic, contact)
    request = prompt_request(actor, PROMPT, "sign-in prompt")
    setattr(request, NOW_ATTRIBUTE, actor.now())
    patient = authenticate(
        request, username=username, portal_secret=code.strip(), portal_clinic=clinic
    )
    if not isinstance(patient, Patient):
        _refuse(actor, request, username)
    if settings.AXES_RESET_ON_SUCCESS and AccessAttempt.objects.filter(username=username).exists():
        AxesProxyHandler.reset_attempts(username=username)
    record(actor, Action.LOGIN, obj=patient, object_type="portal", patient=patient)
    return patient


def patient_for_code(
    clinic: Clinic, username: str, code: str, request: HttpRequest | None
) -> Patient | None:
    """The backend's check: the patient of an unused, unexpired code for this contact, which
    is then used up. Only the contact's latest code counts."""
    now = getattr(request, NOW_ATTRIBUTE, None)
    if now is None or not code.isdigit():
        return None
    with transaction.atomic():
        latest = (
            SignInCode.objects.select_for_update()
            .filter(patient__clinic=clinic, contact_digest__startswith=username[len("portal:") :])
            .order_by("-created_at", "-id")
            .select_related("patient__clinic")
            .first()
        )
        if (
            latest is None
            or latest.used_at is not None
            or latest.expires_at <= now
            or not hmac.compare_digest(
                latest.code_digest, _code_digest(code, latest.contact_digest)
            )
        ):
            return None
        latest.used_at = now
        latest.save(update_fields=["used_at"])
        return latest.patient


def _refuse(actor: Actor, request: HttpRequest, username: str) -> NoReturn:
    record(
        actor,
        Action.LOGIN_FAILED,
        object_type="portal",
        changes={
            "prompt": PROMPT,
            "username": username,
            "locked_out": bool(getattr(request, "axes_locked_out", False)),
        },
    )
    raise SignInRefused
