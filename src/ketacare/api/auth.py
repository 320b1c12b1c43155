"""Who is calling the API: a personal access token (``Authorization: Bearer kc_…``) or a
signed-in staff member's browser session; and whether their role may do what they ask.

Either way the caller acts as one membership: the token's, or the session's active clinic.
Both answer with an ``Actor`` as ``requires`` builds one for a page, so the actions and the
audit trail see an API call as they see a page."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyCookie, HttpBearer

from ketacare.accounts.access import StaffActor, active_membership, client_ip
from ketacare.accounts.models import Membership
from ketacare.accounts.permissions import Role, allowed
from ketacare.actor import Actor
from ketacare.api import actions
from ketacare.api.errors import ApiError
from ketacare.api.models import ApiToken

Endpoint = Callable[..., Any]
# Each endpoint's action by its name (its URL's name): ``api.urls`` marks the URL with it.
ENDPOINT_ACTIONS: dict[str, str] = {}


@dataclass(frozen=True)
class Caller:
    """The authenticated caller: the actor, and how they came (``token kc_…`` or
    ``session``), which the audit events of their reads name."""

    actor: StaffActor
    via: str


def _caller(request: HttpRequest, membership: Membership, via: str) -> Caller:
    actor = Actor(
        user=membership.user, role=membership.role, clinic=membership.clinic, ip=client_ip(request)
    )
    return Caller(cast(StaffActor, actor), via)


def parse_token(text: str) -> tuple[str, str] | None:
    """``kc_<key id>_<secret>`` as (key id, secret), or None if it is not one."""
    parts = text.strip().split("_")
    if len(parts) != 3 or parts[0] != actions.TOKEN_PREFIX:
        return None
    return parts[1], parts[2]


class BearerToken(HttpBearer):
    """A personal access token. Unknown, revoked, expired, or of a deactivated membership or
    user: not authenticated (401), whichever it is, so the answer tells a thief nothing."""

    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        parsed = parse_token(token)
        if parsed is None:
            return None
        key_id, secret = parsed
        found = (
            ApiToken.objects.select_related("membership__user", "membership__clinic")
            .filter(key_id=key_id)
            .first()
        )
        now = timezone.now()
        if found is None or not check_password(secret, found.secret_hash):
            return None
        if not found.usable_at(now):
            return None
        actions.token_used(found, now)
        return _caller(request, found.membership, f"token {found.key_id}")


class StaffSession(APIKeyCookie):
    """The browser session of a signed-in staff member (the interactive docs use it). Unsafe
    methods need the CSRF token, as a form does."""

    param_name = settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> Caller | None:
        if not request.user.is_authenticated:
            return None
        membership = active_membership(request)
        if membership is None:
            return None
        return _caller(request, membership, "session")


def caller(request: HttpRequest) -> Caller:
    """The caller the API's authentication set on the request."""
    found = getattr(request, "auth", None)
    assert isinstance(found, Caller), "every endpoint is authenticated"
    return found


def check(request: HttpRequest, action: str) -> StaffActor:
    """The caller's actor if their role may ``action`` (the permission table); else 403."""
    actor = caller(request).actor
    if not allowed(actor.role, action):
        raise ApiError(403, f"A {Role(actor.role).label} may not do this ({action}).")
    return actor


def api_requires(action: str) -> Callable[[Endpoint], Endpoint]:
    """Refuse the endpoint (403) unless the caller's role may ``action``. The URL of the
    endpoint carries the action for the permission matrix (``ketacare.api.urls``)."""

    def decorator(endpoint: Endpoint) -> Endpoint:
        @wraps(endpoint)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            check(request, action)
            return endpoint(request, *args, **kwargs)

        ENDPOINT_ACTIONS[endpoint.__name__] = action
        return wrapper

    return decorator
