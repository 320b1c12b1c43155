import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import devices_for_user

from ketacare.accounts.access import login_redirect
from ketacare.accounts.permissions import Role

LAST_ACTIVITY_KEY = "last_activity"
ACTIVITY_RESOLUTION_SECONDS = 60
# Pages a half-signed-in user (password but no second factor yet) may reach.
SECOND_FACTOR_EXEMPT = {"login", "logout", "otp-verify", "otp-setup", "healthz"}
SECOND_FACTOR_ROLES = {Role.PRESCRIBER, Role.CLINIC_ADMIN}
# Pages a user who must change their password may reach: the change page itself, signing out,
# and the second factor (which comes first).
PASSWORD_CHANGE_EXEMPT = {
    "password-change",
    "login",
    "logout",
    "otp-verify",
    "otp-setup",
    "healthz",
}


class IdleLogoffMiddleware:
    """Sign the user out after ``KETACARE_IDLE_TIMEOUT_SECONDS`` without a request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last = request.session.get(LAST_ACTIVITY_KEY)
            if last is not None and now - last > settings.KETACARE_IDLE_TIMEOUT_SECONDS:
                logout(request)
                minutes = settings.KETACARE_IDLE_TIMEOUT_SECONDS // 60
                messages.info(request, f"You were signed out after {minutes} minutes idle.")
                return login_redirect(request)
            # A page polling by itself (the chair board) is not someone at the keyboard.
            polled = request.headers.get("X-Ketacare-Poll") == "1"
            if not polled and (last is None or now - last >= ACTIVITY_RESOLUTION_SECONDS):
                # Refreshing the mark at most once a minute spares a session write on most
                # requests; the user is then signed out between 14 and 15 minutes idle.
                request.session[LAST_ACTIVITY_KEY] = now
        response = self.get_response(request)
        if request.user.is_authenticated:
            # Patient data must not outlive the session in the browser's cache or history.
            response["Cache-Control"] = "no-store"
        return response


def requires_second_factor(user: object) -> bool:
    """Whether this user must use TOTP: any prescriber or clinic-admin role, when enforced."""
    if not settings.KETACARE_REQUIRE_2FA:
        return False
    memberships = user.memberships  # type: ignore[attr-defined]  # any user model with memberships
    return bool(memberships.filter(active=True, role__in=SECOND_FACTOR_ROLES).exists())


def has_second_factor(user: object) -> bool:
    """Whether the user has a confirmed device: then every sign-in asks for its code."""
    return any(True for _ in devices_for_user(user, confirmed=True))


class SecondFactorMiddleware:
    """After the password: ask for the TOTP code if the user has a device, or send a user who
    must have one (KETACARE_REQUIRE_2FA) to set it up."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., HttpResponse], *args: object
    ) -> HttpResponse | None:
        user = request.user
        # django_otp's OTPMiddleware gives the user is_verified; the stubs do not know it.
        if not user.is_authenticated or user.is_verified():  # type: ignore[attr-defined]
            return None
        if getattr(request.resolver_match, "url_name", None) in SECOND_FACTOR_EXEMPT:
            return None
        if has_second_factor(user):
            return redirect(
                f"{reverse('otp-verify')}?{urlencode({'next': request.get_full_path()})}"
            )
        if requires_second_factor(user):
            return redirect("otp-setup")
        return None


class PasswordChangeRequiredMiddleware:
    """While the user's password is one someone else chose (``User.must_change_password``),
    every page leads to the change-password page. After SecondFactorMiddleware: the second
    factor is asked first, so a password alone never changes the password."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., HttpResponse], *args: object
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or not getattr(user, "must_change_password", False):
            return None
        if getattr(request.resolver_match, "url_name", None) in PASSWORD_CHANGE_EXEMPT:
            return None
        target = reverse("password-change")
        if request.headers.get("HX-Request"):
            # A fragment request: have htmx load the whole change page, not swap it into a part.
            response = HttpResponse(status=200)
            response["HX-Redirect"] = target
            return response
        if not request.accepts("text/html"):
            # A download or a script: a plain refusal it can read, rather than a page.
            return JsonResponse(
                {"error": "Change your password before going on.", "change_password": target},
                status=403,
            )
        if request.method == "GET":
            target = f"{target}?{urlencode({'next': request.get_full_path()})}"
        return redirect(target)
