"""The API's interactive docs in a real browser: Swagger UI loads from our own origin under
the strict Content-Security-Policy, asks nothing of any other host, and shows the endpoints."""

import pytest

pytestmark = pytest.mark.browser


def test_the_docs_page_renders_from_our_own_origin(page, live_server, console, db):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/v1/docs/")
    page.locator(".swagger-ui .opblock").first.wait_for()
    assert page.locator(".swagger-ui .opblock").count() >= 3  # list, create, read
    assert requested and all(url.startswith(live_server.url) for url in requested), requested
    assert console.messages == []
