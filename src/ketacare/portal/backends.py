"""The authentication backend that checks a portal code, so that ``authenticate()`` (and
django-axes in front of it) handles a code prompt as it handles a password prompt."""

from typing import Any

from django.http import HttpRequest

from ketacare.accounts.models import Clinic
from ketacare.patients.models import Patient


class SignInCodeBackend:
    """Answers only a portal code (``portal_secret``: a name Django keeps out of the failure
    signal); a staff sign-in passes none, so never reaches it."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        portal_secret: str | None = None,
        portal_clinic: Clinic | None = None,
        **kwargs: Any,
    ) -> Patient | None:
        if portal_secret is None or portal_clinic is None or username is None:
            return None
        from ketacare.portal.signin import patient_for_code

        return patient_for_code(portal_clinic, username, portal_secret, request)

    def get_user(self, user_id: int) -> None:
        # Django's session login is for staff; a patient's session is the portal's own.
        return None
