"""Who is signed in to the portal, and the decorator every portal page is wrapped in.

A patient's session is the portal's own (keys below), not Django's staff login: a signed-in
patient is no ``User`` and reaches no staff page, and a signed-in staff member is no patient
here. It is short (``[session]`` in ``data/portal.toml``): it ends after a spell of idleness
or at the latest some time after sign-in, whichever comes first.
"""

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.cache import never_cache

from ketacare import languages as language
from ketacare.accounts.access import client_ip
from ketacare.accounts.models import Clinic
from ketacare.accounts.permissions import PATIENT_ACTIONS, PERMISSIONS
from ketacare.actor import Actor
from ketacare.patients.models import Patient
from ketacare.portal.signin import policy

PATIENT_KEY = "portal_patient_id"
SIGNED_IN_KEY = "portal_signed_in_at"
SEEN_KEY = "portal_seen_at"
# Kept after sign-out, so that "sign in again" knows the clinic's sign-in page.
CLINIC_KEY = "portal_clinic_id"

View = Callable[..., HttpResponse]


class PortalRequest(HttpRequest):
    """The request a portal view receives. For annotations only."""

    patient: Patient
    actor: Actor


def start_session(request: HttpRequest, patient: Patient, now: datetime) -> None:
    """Sign ``patient`` in on this browser: a new session key (no fixation), the times."""
    request.session.cycle_key()
    request.session[PATIENT_KEY] = patient.pk
    request.session[SIGNED_IN_KEY] = now.timestamp()
    request.session[SEEN_KEY] = now.timestamp()
    request.session[CLINIC_KEY] = patient.clinic_id


def end_session(request: HttpRequest) -> None:
    clinic_id = request.session.get(CLINIC_KEY)
    for key in (PATIENT_KEY, SIGNED_IN_KEY, SEEN_KEY):
        request.session.pop(key, None)
    request.session.cycle_key()
    if clinic_id is not None:
        request.session[CLINIC_KEY] = clinic_id


def session_patient(request: HttpRequest, now: datetime) -> Patient | None:
    """The signed-in patient, or None (and the portal keys dropped) if there is none or the
    session has run out."""
    patient_id = request.session.get(PATIENT_KEY)
    if patient_id is None:
        return None
    rules = policy()["session"]
    signed_in = request.session.get(SIGNED_IN_KEY, 0)
    seen = request.session.get(SEEN_KEY, 0)
    moment = now.timestamp()
    if (
        moment - seen > rules["idle_minutes"] * 60
        or moment - signed_in > rules["longest_minutes"] * 60
    ):
        end_session(request)
        return None
    patient = Patient.objects.select_related("clinic").filter(pk=patient_id).first()
    if patient is None:
        end_session(request)
        return None
    request.session[SEEN_KEY] = moment
    return patient


def sign_in_page(request: HttpRequest) -> HttpResponse:
    """Where a visitor without a portal session goes: their clinic's sign-in, if known."""
    clinic_id = request.session.get(CLINIC_KEY)
    if clinic_id is not None and Clinic.objects.filter(pk=clinic_id).exists():
        return redirect("portal-sign-in", clinic_id=clinic_id)
    return redirect("portal-start")


def patient_actor(request: HttpRequest, patient: Patient) -> Actor:
    return Actor(user=None, role="patient", clinic=patient.clinic, ip=client_ip(request))


def portal_requires(action: str) -> Callable[[View], View]:
    """Allow the view only to a signed-in patient (their own record only: every portal view
    reads ``request.patient``, never an id of a patient from the address), in their language.
    ``action`` is a patient action of the one permission table."""
    if action not in PATIENT_ACTIONS or action not in PERMISSIONS:
        raise ValueError(f"{action!r} is not a patient action of the permission table")

    def decorator(view: View) -> View:
        @never_cache
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            patient = session_patient(request, timezone.now())
            if patient is None:
                return sign_in_page(request)
            request.patient = patient  # type: ignore[attr-defined]
            request.actor = patient_actor(request, patient)  # type: ignore[attr-defined]
            # Times as the patient reads them on the clinic's own clock.
            with timezone.override(patient.clinic.zone):
                return language.respond_in(request, lambda: view(request, *args, **kwargs))

        wrapper.ketacare_action = action  # type: ignore[attr-defined]
        wrapper.ketacare_portal = True  # type: ignore[attr-defined]
        return wrapper

    return decorator
