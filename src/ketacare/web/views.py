import re
from functools import cache
from importlib.resources import files

import markdown
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ketacare.accounts.access import public, requires
from ketacare.web.templatetags.clinical_text import instrument, words


@public
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers: the app is up and can reach its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


@cache
def _reference_html() -> SafeString:
    """The clinical reference (``clinical/reference.md``, which ``docs/`` links to) as HTML,
    each numbered section anchored ``#section-N`` for the citations on the pages."""
    text = files("ketacare.clinical").joinpath("reference.md").read_text("utf-8")
    html = markdown.markdown(text, extensions=["tables"])
    html = re.sub(r"<h2>(\d+)\. ", r'<h2 id="section-\1">\1. ', html)
    # The file names instruments and bands by their data ids (for contributors); staff read
    # their names ("PHQ-9", "Moderately severe").
    html = re.sub(
        r"<code>([a-z0-9_]+)</code>",
        lambda m: (
            f"<code>{escape(instrument(m.group(1)))}</code>"
            if m.group(1) != instrument(m.group(1))
            else f"<code>{escape(words(m.group(1)))}</code>"
        ),
        html,
    )
    html = re.sub(r"\b([a-z]+(?:_[a-z]+)+)\b", lambda m: words(m.group(1)).lower(), html)
    return mark_safe(html)  # noqa: S308 - our own reference file, not user input


@requires("account.use")
def clinical_reference(request: HttpRequest) -> HttpResponse:
    """The facts behind every rule, threshold and protocol, with their sources."""
    return render(request, "web/reference.html", {"body": _reference_html()})
