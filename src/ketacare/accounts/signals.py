"""Sign-in, sign-out and failed sign-in attempts go into the audit trail."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from ketacare.accounts.access import ACTIVE_CLINIC_SESSION_KEY, client_ip, membership_of
from ketacare.actor import Actor
from ketacare.audit.record import Action, record


def _actor(request: HttpRequest | None, user: Any) -> Actor:
    session = getattr(request, "session", None)
    chosen = session.get(ACTIVE_CLINIC_SESSION_KEY) if session is not None else None
    membership = membership_of(user, chosen)
    return Actor(
        user=user,
        role=membership.role if membership else "",
        clinic=membership.clinic if membership else None,
        ip=client_ip(request) if request is not None else None,
    )


@receiver(user_logged_in)
def audit_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    record(_actor(request, user), Action.LOGIN, obj=user, object_type="user")


@receiver(user_logged_out)
def audit_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record(_actor(request, user), Action.LOGOUT, obj=user, object_type="user")


@receiver(user_login_failed)
def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if getattr(request, "ketacare_prompt", None):
        return  # a signature prompt inside a session: accounts.reauth audits it, with its actor
    username = str(credentials.get("username", ""))[:150]
    # Attribute the attempt to the account's clinic, so that its admins see it in their log.
    user = get_user_model().objects.filter(username=username).first()
    membership = membership_of(user) if user is not None else None
    actor = Actor(user=None, role="", clinic=None, ip=client_ip(request) if request else None)
    record(
        actor,
        Action.LOGIN_FAILED,
        object_type="user",
        clinic=membership.clinic if membership else None,
        changes={"username": username},
    )
