"""The public front door: no login (``public``), never cached, nothing submitted shown back.

``/start/<clinic>/`` asks the C-SSRS screener first. A screener at crisis risk gets the crisis
page at once (and is saved with its urgent alert); any other goes on to the contact details,
carrying its answers in a signed token rather than a session. Every page shows the crisis
lines and says the form is not watched around the clock."""

from typing import Any

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ketacare import languages as language
from ketacare.accounts.access import client_ip, public
from ketacare.accounts.models import Clinic
from ketacare.clinical.datafiles import load
from ketacare.clinical.instruments import AnswerError
from ketacare.referrals import actions
from ketacare.referrals.crisis import crisis_lines
from ketacare.referrals.forms import (
    HONEYPOT,
    CallbackForm,
    DetailsForm,
    label_screener,
    screener_form_class,
)
from ketacare.referrals.ratelimit import RateLimited
from ketacare.referrals.screener import Triage, judge, wording

SCREEN_SALT = "ketacare.referrals.screen"
CALLBACK_SALT = "ketacare.referrals.callback"


def _clinic(clinic_id: int) -> Clinic:
    clinic = Clinic.objects.filter(pk=clinic_id).first()
    if clinic is None:
        raise Http404("No such clinic")
    return clinic


def _max_age() -> int:
    return 60 * int(load("referrals", "ketacare.referrals")["form"]["continue_within_minutes"])


def _page(
    request: HttpRequest, clinic: Clinic, template: str, status: int = 200, **context: Any
) -> HttpResponse:
    context.update(clinic=clinic, crisis=crisis_lines(clinic))
    return render(request, f"referrals/{template}", context, status=status)


def _thanks(request: HttpRequest, clinic: Clinic) -> HttpResponse:
    # The same page for everyone, whether or not they are known to the clinic, and nothing of
    # what they typed: no way to learn who is a patient.
    return _page(request, clinic, "thanks.html")


@public
@never_cache  # a shared phone must not keep the answers or the crisis page
@language.in_language
def start(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic = _clinic(clinic_id)
    questions = wording()
    if questions is None:
        return _page(request, clinic, "unavailable.html")
    form = screener_form_class()(request.POST if request.method == "POST" else None)
    label_screener(form, questions)
    if request.method != "POST" or not form.is_valid():
        return _page(request, clinic, "screener.html", form=form)
    try:
        triage = judge(form.answers())
    except AnswerError as error:  # the form checks the skip logic too; this is its backstop
        form.add_error(None, str(error))
        return _page(request, clinic, "screener.html", form=form)
    if triage.crisis:
        return _crisis(request, clinic, triage, bot=bool(form.cleaned_data.get(HONEYPOT)))
    token = signing.dumps({"clinic": clinic.pk, "answers": list(triage.answers)}, salt=SCREEN_SALT)
    return _page(request, clinic, "details.html", form=DetailsForm(initial={"token": token}))


def _crisis(request: HttpRequest, clinic: Clinic, triage: Triage, *, bot: bool) -> HttpResponse:
    """The crisis page, whatever else happens: a honeypot or a rate limit only stops the
    saving (and so the alert), never the crisis lines."""
    callback = None
    if not bot:
        try:
            referral = actions.save_crisis_screen(
                actions.public_actor(clinic, client_ip(request)), clinic, triage
            )
        except RateLimited:
            pass
        else:
            token = signing.dumps({"referral": referral.pk}, salt=CALLBACK_SALT)
            callback = CallbackForm(initial={"token": token})
    return _page(request, clinic, "crisis.html", callback=callback)


def _signed(token: str, salt: str) -> dict[str, Any] | None:
    try:
        value = signing.loads(token, salt=salt, max_age=_max_age())
    except signing.BadSignature:  # also an expired one
        return None
    return value if isinstance(value, dict) else None


@public
@never_cache
@language.in_language
def details(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic = _clinic(clinic_id)
    if request.method != "POST":
        return redirect("referral-start", clinic_id=clinic.pk)
    form = DetailsForm(request.POST)
    if request.POST.get(HONEYPOT):
        return _thanks(request, clinic)
    if not form.is_valid():
        return _page(request, clinic, "details.html", form=form)
    screen = _signed(form.cleaned_data["token"], SCREEN_SALT)
    if screen is None or screen.get("clinic") != clinic.pk:
        return _page(request, clinic, "expired.html", status=400)
    try:
        triage = judge(screen["answers"])
    except (AnswerError, KeyError, TypeError):
        return _page(request, clinic, "expired.html", status=400)
    if triage.crisis:  # a token is only made below crisis risk; never skip the crisis page
        return _crisis(request, clinic, triage, bot=False)
    try:
        actions.submit_referral(
            actions.public_actor(clinic, client_ip(request)), clinic, triage, form.details()
        )
    except RateLimited:
        return _page(request, clinic, "limited.html", status=429)
    except actions.ReferralError as error:
        form.add_error(None, str(error))
        return _page(request, clinic, "details.html", form=form)
    return _thanks(request, clinic)


@public
@never_cache
@require_POST
@language.in_language
def callback(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic = _clinic(clinic_id)
    form = CallbackForm(request.POST)
    if request.POST.get(HONEYPOT):
        return _page(request, clinic, "crisis.html", called_back=True)
    if not form.is_valid():
        return _page(request, clinic, "crisis.html", callback=form)
    value = _signed(form.cleaned_data["token"], CALLBACK_SALT)
    referral_id = value.get("referral") if value else None
    if not isinstance(referral_id, int):
        return _page(request, clinic, "crisis.html", problem=_("This page has expired."))
    try:
        actions.add_callback(
            actions.public_actor(clinic, client_ip(request)),
            clinic,
            referral_id,
            form.cleaned_data["given_name"],
            form.cleaned_data["phone"],
            form.cleaned_data["voicemail_ok"],
        )
    except (actions.ReferralError, RateLimited):
        return _page(request, clinic, "crisis.html", problem=_("This page has expired."))
    return _page(request, clinic, "crisis.html", called_back=True)
