"""One error body for every refusal the API gives:
``{"error": {"code": …, "message": …, "fields": {field: [messages]}}}``."""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from ketacare.bounds import OutOfBounds
from ketacare.refusals import ActionRefused

CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "refused",
    422: "invalid",
    429: "too_many_requests",
}


class ApiError(Exception):
    """A refusal the API answers with ``status`` and the error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str = "",
        fields: dict[str, list[str]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.code = code or CODES.get(status, "error")
        self.fields, self.extra = fields or {}, extra


def body(code: str, message: str, fields: dict[str, list[str]] | None = None, **extra: Any) -> Any:
    return {"error": {"code": code, "message": message, "fields": fields or {}, **extra}}


def install(api: NinjaAPI) -> None:
    """Answer every refusal, Ninja's own included, with the one body. (Ninja types a
    handler's exception as the class or its instance, hence ``Any``.)"""

    def respond(request: HttpRequest, error: ApiError) -> HttpResponse:
        response = api.create_response(
            request,
            body(error.code, error.message, error.fields, **error.extra),
            status=error.status,
        )
        if error.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="ketacare"'
        return response

    def on_api_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return respond(request, exc)

    def on_unauthenticated(request: HttpRequest, exc: Any) -> HttpResponse:
        message = (
            "Send a valid, unexpired personal access token (Authorization: Bearer …), "
            "or sign in as a member of a clinic."
        )
        return respond(request, ApiError(401, message))

    def on_invalid(request: HttpRequest, exc: Any) -> HttpResponse:
        fields: dict[str, list[str]] = {}
        for problem in exc.errors:
            # Where Ninja looked (body, query, path) comes first, and in a body the name of
            # the endpoint's parameter: the client knows its fields by their own names.
            loc = tuple(problem.get("loc", ()))
            skip = 2 if loc[:1] == ("body",) and len(loc) > 2 else 1
            where = ".".join(str(part) for part in loc[skip:]) or "__all__"
            fields.setdefault(where, []).append(str(problem.get("msg", "invalid")))
        return respond(request, ApiError(422, "The request has invalid fields.", fields=fields))

    def on_http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return respond(request, ApiError(exc.status_code, str(exc)))

    def on_not_found(request: HttpRequest, exc: Any) -> HttpResponse:
        return respond(request, ApiError(404, "Not found."))

    def on_refused(request: HttpRequest, exc: Any) -> HttpResponse:
        return respond(request, ApiError(409, str(exc)))

    def on_out_of_bounds(request: HttpRequest, exc: Any) -> HttpResponse:
        return respond(request, ApiError(422, str(exc)))

    api.add_exception_handler(ApiError, on_api_error)
    api.add_exception_handler(AuthenticationError, on_unauthenticated)
    api.add_exception_handler(ValidationError, on_invalid)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(ActionRefused, on_refused)
    api.add_exception_handler(OutOfBounds, on_out_of_bounds)
