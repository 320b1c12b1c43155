import re
from functools import cache
from importlib.resources import files

import markdown
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe

from ketacare.accounts.access import public, requires


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
    return mark_safe(html)  # noqa: S308 - our own reference file, not user input


@requires("account.use")
def clinical_reference(request: HttpRequest) -> HttpResponse:
    """The facts behind every rule, threshold and protocol, with their sources."""
    return render(request, "web/reference.html", {"body": _reference_html()})
