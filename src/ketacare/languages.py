"""The language of a patient-facing page (the portal, the questionnaire and reminder links,
the public referral form): the one the patient chose (kept in the session), else the
browser's, among ``settings.LANGUAGES``. Staff pages stay in English: the language is switched
for the patient pages' own responses (``respond_in``), not by a site-wide middleware."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

CHOSEN_KEY = "patient_language"


def supported() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def chosen(request: HttpRequest) -> str:
    kept = request.session.get(CHOSEN_KEY)
    if kept in supported():
        return str(kept)
    browser = translation.get_language_from_request(request)
    return browser if browser in supported() else supported()[0]


def choose(request: HttpRequest, code: str) -> bool:
    """Keep ``code`` as the patient's language; False (nothing kept) if it is not offered."""
    if code not in supported():
        return False
    request.session[CHOSEN_KEY] = code
    return True


def respond_in(request: HttpRequest, respond: Callable[[], HttpResponse]) -> HttpResponse:
    """``respond()`` rendered in the request's language, the response saying which."""
    code = chosen(request)
    with translation.override(code):
        request.LANGUAGE_CODE = code
        response = respond()
    response.headers.setdefault("Content-Language", code)
    return response


def in_language(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A patient-facing view rendered in the patient's language (``respond_in``)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return respond_in(request, lambda: view(request, *args, **kwargs))

    return wrapper
