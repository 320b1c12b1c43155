from django.db import connection
from django.http import HttpRequest, HttpResponse

from ketacare.accounts.access import public


@public
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers: the app is up and can reach its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
