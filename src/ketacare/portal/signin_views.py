"""The portal's sign-in pages (public): ask for a code, type it, sign out, choose a language."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ketacare import languages as language
from ketacare.accounts.access import client_ip, public
from ketacare.accounts.models import Clinic
from ketacare.actor import Actor
from ketacare.audit.record import Action, record
from ketacare.portal import access, contacts, signin
from ketacare.portal.forms import CodeForm, ContactForm
from ketacare.portal.pages import portal_page
from ketacare.refusals import ActionRefused

PENDING_KEY = "portal_pending_contact"


def _clinic(clinic_id: int) -> Clinic:
    return get_object_or_404(Clinic, pk=clinic_id)


def _actor(request: HttpRequest, clinic: Clinic) -> Actor:
    return Actor(user=None, role="patient", clinic=clinic, ip=client_ip(request))


@public
@never_cache
@language.in_language
def start(request: HttpRequest) -> HttpResponse:
    """Where a visitor lands without a clinic: the portal is reached from the clinic's link."""
    return render(request, "portal/start.html", {"languages": language.supported()})


@public
@never_cache
@language.in_language
def sign_in(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic = _clinic(clinic_id)
    form = ContactForm(request.POST if request.method == "POST" else None)
    if request.method != "POST" or not form.is_valid():
        return portal_page(request, clinic, "sign_in.html", form=form)
    try:
        contact = signin.request_code(_actor(request, clinic), form.cleaned_data["contact"])
    except signin.TooManyRequests as refused:
        form.add_error(None, str(refused))
        return portal_page(request, clinic, "sign_in.html", form=form, status=429)
    except ActionRefused as refused:
        form.add_error("contact", str(refused))
        return portal_page(request, clinic, "sign_in.html", form=form)
    request.session[PENDING_KEY] = {
        "clinic": clinic.pk,
        "channel": contact.channel,
        "value": contact.value,
    }
    return redirect("portal-code", clinic_id=clinic.pk)


@public
@never_cache
@language.in_language
def code(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic = _clinic(clinic_id)
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("clinic") != clinic.pk:
        return redirect("portal-sign-in", clinic_id=clinic.pk)
    contact = contacts.Contact(str(pending["channel"]), str(pending["value"]))
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method != "POST" or not form.is_valid():
        return portal_page(request, clinic, "code.html", form=form, channel=contact.channel)
    actor = _actor(request, clinic)
    try:
        patient = signin.sign_in(actor, contact, form.cleaned_data["code"])
    except signin.SignInRefused as refused:
        form.add_error("code", str(refused))
        return portal_page(request, clinic, "code.html", form=form, channel=contact.channel)
    request.session.pop(PENDING_KEY, None)
    access.start_session(request, patient, actor.now())
    return redirect("portal-home")


@public
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    patient = access.session_patient(request, timezone.now())
    if patient is not None:
        actor = access.patient_actor(request, patient)
        record(actor, Action.LOGOUT, obj=patient, object_type="portal", patient=patient)
    access.end_session(request)
    return access.sign_in_page(request)


@public
@require_POST
def choose_language(request: HttpRequest) -> HttpResponse:
    language.choose(request, request.POST.get("language", ""))
    back = request.POST.get("next", "")
    # Back to the page the switch was on (the portal, a questionnaire or reminder link, the
    # referral form), but only to a page of this site: never an open redirect.
    same_site = url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(back if same_site and back.startswith("/") else "portal-home")
