"""What the tests of every password prompt ask: did it count, audit, lock, and say the one thing."""

from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketacare.accounts.actions import locked_out
from ketacare.accounts.reauth import REFUSED
from ketacare.audit.models import AuditEvent
from tests.conftest import PASSWORD, client_for

__all__ = ["REFUSED"]


def prompt_failures(prompt: str) -> list[AuditEvent]:
    """The audited failures of one prompt, oldest first."""
    return list(
        AuditEvent.objects.filter(action="login_failed", changes__prompt=prompt).order_by("pk")
    )


def is_locked_out(user) -> bool:
    return user.get_username().lower() in locked_out([user.get_username()])


def sign_in_is_locked(user) -> bool:
    """The login page refuses the right password (django-axes' lock-out page)."""
    response = Client().post(
        reverse("login"), {"username": user.get_username(), "password": PASSWORD}
    )
    return response.status_code == 429


def fail_sign_in_until_locked(user) -> None:
    """Wrong passwords at the login page, as many as the lock-out takes."""
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": user.get_username(), "password": f"guess {n}"})
    assert is_locked_out(user)


def authenticator(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def code_for(device: TOTPDevice) -> str:
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{code:06d}"


def wrong_code(device: TOTPDevice) -> str:
    return "000000" if code_for(device) != "000000" else "111111"


def signed_in(user, device: TOTPDevice | None = None) -> Client:
    """A client signed in as ``user`` (past the second factor with ``device``). Signing in
    clears the account's failed attempts, as django-axes does on every sign-in: a test signs
    in before it fails any signature."""
    client = client_for(user)
    if device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client
