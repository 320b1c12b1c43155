"""``/api/v1/`` and the token page. Every URL carries its permission for the permission
matrix (``tests/accounts/test_permission_matrix.py``): an endpoint's action from
``api_requires``, or public (the OpenAPI document, the docs page and the API's root, which
show no data); a URL with neither fails that test."""

from functools import partial
from typing import Any

from django.urls import URLPattern, URLResolver, include, path, re_path

from ketacare.api import views
from ketacare.api.auth import ENDPOINT_ACTIONS
from ketacare.api.main import api

PUBLIC = {"openapi-json", "openapi-view", "api-root"}


def marked(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    """Ninja's patterns, one per route (the first operation's view answers every method of
    its route), each marked with what the matrix checks a GET against."""
    kept: list[URLPattern | URLResolver] = []
    routes: set[str] = set()
    for pattern in patterns:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        if route in routes:
            continue
        routes.add(route)
        kept.append(pattern)
        callback: Any = pattern.callback
        if isinstance(callback, partial):
            # Ninja's document, docs and root views: a function, so that tools reading views
            # by module and name (the hostile-input walk) can.
            callback = pattern.callback = views.as_function(callback, pattern.name or "ninja")
        if pattern.name in PUBLIC:
            callback.ketacare_public = True
        elif pattern.name in ENDPOINT_ACTIONS:
            callback.ketacare_action = ENDPOINT_ACTIONS[pattern.name]
            callback.ketacare_api = True
    return kept


# Not ``app_name`` at module level: include() would then namespace the token page too.
_patterns, _ninja_app, _namespace = api.urls
urlpatterns = [
    path("api/v1/", include((marked(_patterns), _ninja_app), namespace=_namespace)),
    # Last: what no endpoint answered (no argument, so that every URL reverses as it is).
    re_path(r"^api/v1/.", views.api_not_found, name="api-not-found"),
    path("account/tokens/", views.tokens, name="api-tokens"),
]
