"""The API object: its authentication, its error bodies, its routers and its docs page,
which loads Swagger UI from our own static files (``ninja`` is an installed app for that)."""

from ninja import NinjaAPI, Swagger

from ketacare.api import errors, patients
from ketacare.api.auth import BearerToken, StaffSession

api = NinjaAPI(
    title="ketacare API",
    version="1",
    description=(
        "Authenticate with a personal access token (`Authorization: Bearer kc_…`, made on "
        "/account/tokens/) or a signed-in staff session. Errors are "
        '`{"error": {"code", "message", "fields"}}`.'
    ),
    urls_namespace="api-v1",
    auth=[BearerToken(), StaffSession()],
    # No call to an outside validator: the page's Content-Security-Policy allows 'self' only.
    docs=Swagger(settings={"validatorUrl": None}),
    docs_url="/docs/",
)
errors.install(api)
api.add_router("/patients", patients.router)
