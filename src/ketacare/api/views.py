from collections.abc import Callable
from functools import partial
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from ketacare.accounts.access import KetacareRequest, public, requires
from ketacare.api import actions
from ketacare.api.errors import ApiError, body
from ketacare.api.forms import NewTokenForm
from ketacare.api.models import ApiToken
from ketacare.bounds import parse_id
from ketacare.web.submit import attempted, submitted


@requires("api.tokens")
@never_cache  # the answer to making a token shows its secret
def tokens(request: KetacareRequest) -> HttpResponse:
    """The staff member's personal access tokens at this clinic: make one (its text shown on
    this answer only), see when each was last used, revoke one."""
    actor = request.actor
    if request.method == "POST" and request.POST.get("do") == "revoke":
        token_id = parse_id(request.POST.get("token")) or 0
        attempted(request, lambda: actions.revoke_token(actor, token_id), "Token revoked.")
        return redirect("api-tokens")
    form = NewTokenForm(request.POST or None)
    done, result = submitted(
        request,
        form,
        lambda data: actions.create_token(actor, data["name"], data["lifetime_days"]),
        "Token made. Copy it now: it is not shown again.",
    )
    own = ApiToken.objects.filter(
        membership__user=actor.user, membership__clinic=actor.clinic
    ).order_by("-created_at")
    context = {
        "form": NewTokenForm() if done else form,
        "made": result[1] if done else None,
        "tokens": own,
        "now": actor.now(),
    }
    return render(request, "api/tokens.html", context)


@public  # as any address: that it is not one of the API's tells nothing
def api_not_found(request: HttpRequest) -> JsonResponse:
    """Any other address under /api/v1/ (an id that is no id among them): the API's 404
    body rather than the HTML page."""
    error = ApiError(404, "Not found.")
    return JsonResponse(body(error.code, error.message), status=404)


def as_function(view: "partial[HttpResponse]", name: str) -> Callable[..., HttpResponse]:
    """Ninja's document, docs page and root view (partials) as a named function of a views
    module, as the tests that read views by module and name expect (ketacare.api.urls)."""

    def ninja_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return view(request, *args, **kwargs)

    ninja_view.__name__ = ninja_view.__qualname__ = name.replace("-", "_")
    return ninja_view
