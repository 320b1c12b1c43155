"""Request-level access: who is asking, in which clinic, and may they do this.

Every view is wrapped in ``requires(action)`` (or marked ``public``); the action is looked up
in the one permission table, ``permissions.PERMISSIONS``.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ketacare.accounts.models import Clinic, Membership, User
from ketacare.accounts.permissions import Role, allowed
from ketacare.actor import Actor

ACTIVE_CLINIC_SESSION_KEY = "active_clinic_id"
View = Callable[..., HttpResponse]


class StaffActor(Actor):
    """The actor ``requires`` sets: a signed-in member of the active clinic (``requires``
    refuses anyone else). For annotations only; the object is an ``Actor``."""

    user: User
    clinic: Clinic


class KetacareRequest(HttpRequest):
    """The request a view wrapped in ``requires`` receives: a signed-in staff member, and
    the ``actor`` that ``requires`` set. For annotations only; Django builds the requests."""

    user: User
    actor: StaffActor


def client_ip(request: HttpRequest) -> str | None:
    """The client's address. Behind our TLS proxy it is the last X-Forwarded-For entry, the
    one the proxy itself added (earlier entries come from the client and can be forged)."""
    if settings.KETACARE_BEHIND_TLS_PROXY:
        forwarded: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last
    remote = request.META.get("REMOTE_ADDR")
    return str(remote) if remote else None


def active_membership(request: HttpRequest) -> Membership | None:
    """The membership the user is working under: the chosen clinic, else the first one."""
    if hasattr(request, "_ketacare_membership"):
        return request._ketacare_membership  # type: ignore[no-any-return]
    membership = None
    if request.user.is_authenticated:
        membership = membership_of(request.user, request.session.get(ACTIVE_CLINIC_SESSION_KEY))
    request._ketacare_membership = membership  # type: ignore[attr-defined]
    return membership


def membership_of(user: User, chosen_clinic_id: int | None = None) -> Membership | None:
    """The user's active membership at the chosen clinic, else at the first clinic by name."""
    memberships = user.memberships.filter(active=True).select_related("clinic")
    if chosen_clinic_id is not None:
        membership = memberships.filter(clinic_id=chosen_clinic_id).first()
        if membership is not None:
            return membership
    return memberships.order_by("clinic__name").first()


def actor_for(request: HttpRequest) -> Actor:
    membership = active_membership(request)
    user = request.user if request.user.is_authenticated else None
    return Actor(
        user=user,
        role=membership.role if membership else "",
        clinic=membership.clinic if membership else None,
        ip=client_ip(request),
    )


def login_redirect(request: HttpRequest) -> HttpResponse:
    """To the login page, and back here afterwards. An htmx request gets an instruction to
    load the whole page, because a plain redirect would swap the login form into a fragment."""
    response = redirect_to_login(request.get_full_path())
    if request.headers.get("HX-Request"):
        hx = HttpResponse(status=200)
        hx["HX-Redirect"] = response["Location"]
        return hx
    return response


def forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "403.html", {"reason": reason}, status=403)


def requires(action: str) -> Callable[[View], View]:
    """Allow the view only to signed-in staff whose role in the active clinic permits ``action``.

    Sets ``request.actor`` for the view and its actions.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return login_redirect(request)
            membership = active_membership(request)
            if membership is None:
                return forbidden(request, "Your account is not a member of any active clinic.")
            if not allowed(membership.role, action):
                role = Role(membership.role).label
                return forbidden(request, f"A {role} may not do this ({action}).")
            # An HttpRequest takes any attribute; KetacareRequest declares this one for views.
            request.actor = actor_for(request)  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        wrapper.ketacare_action = action  # type: ignore[attr-defined]
        return wrapper

    return decorator


def public(view: View) -> View:
    """Mark a view as reachable without the permission table (login, health check)."""
    view.ketacare_public = True  # type: ignore[attr-defined]
    return view
