"""The provider referral: the public form (``/start/<clinic>/provider/``) and the staff
download of its letter. The public page has what every front-door page has (the crisis lines,
"not monitored", the honeypot, the address's rate limit) and shows nothing submitted back."""

from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache

from ketacare import languages as language
from ketacare.accounts.access import KetacareRequest, client_ip, public, requires
from ketacare.audit.record import Action, record
from ketacare.referrals import actions, provider
from ketacare.referrals.forms import HONEYPOT
from ketacare.referrals.letters import JPEG, PDF, PNG
from ketacare.referrals.models import Referral
from ketacare.referrals.provider_forms import ProviderReferralForm
from ketacare.referrals.ratelimit import RateLimited
from ketacare.referrals.views import _clinic, _page, _thanks

EXTENSIONS = {kind[0]: kind[1] for kind in (PDF, PNG, JPEG)}


def _letter_bytes(upload: UploadedFile[bytes] | None, limit: int) -> bytes | None:
    """The upload's bytes, reading no more than one past the limit (so the limit's check
    sees an oversized file without holding all of it)."""
    if upload is None:
        return None
    data: bytes = upload.read(limit + 1)
    return data


@public
@never_cache
@language.in_language
def provider_referral(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic = _clinic(clinic_id)
    if request.method != "POST":
        return _page(request, clinic, "provider.html", form=ProviderReferralForm())
    form = ProviderReferralForm(request.POST, request.FILES)
    if request.POST.get(HONEYPOT):
        return _thanks(request, clinic)
    if not form.is_valid():
        return _page(request, clinic, "provider.html", form=form)
    letter = _letter_bytes(form.cleaned_data.get("letter"), provider.max_letter_bytes())
    try:
        provider.submit_provider_referral(
            actions.public_actor(clinic, client_ip(request)), clinic, form.details(), letter
        )
    except RateLimited:
        return _page(request, clinic, "limited.html", status=429)
    except actions.ReferralError as error:
        form.add_error("letter" if letter is not None else None, str(error))
        return _page(request, clinic, "provider.html", form=form)
    return _thanks(request, clinic)


@requires("referrals.view")
def download_letter(request: KetacareRequest, referral_id: int) -> HttpResponse:
    # Another clinic's referral is "not found": an id reveals nothing.
    referral = get_object_or_404(Referral, pk=referral_id, clinic=request.actor.clinic)
    try:
        # Read whole (at most the size limit, 10 MB) rather than streamed: one plain response.
        data = provider.letter_path(referral).read_bytes()
    except FileNotFoundError:
        messages.error(request, "This referral has no letter.")
        return redirect("referral-detail", referral.pk)
    # The letter is the patient's health information: each download is audited as a view.
    record(
        request.actor,
        Action.VIEW,
        obj=referral,
        clinic=request.actor.clinic,
        changes={"letter": referral.letter_type},
    )
    extension = EXTENSIONS.get(referral.letter_type, "bin")
    response = HttpResponse(data, content_type=referral.letter_type or "application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"referral-{referral.pk}-letter.{extension}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
