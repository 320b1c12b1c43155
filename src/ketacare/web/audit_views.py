"""The audit log page: a web page, not part of audit (which never imports accounts, whose
``requires`` every page needs)."""

from datetime import UTC, date, datetime, time, timedelta

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.audit.models import AuditEvent
from ketacare.audit.record import Action, record
from ketacare.web.audit_log_form import AuditFilterForm

PAGE_SIZE = 50


@requires("audit.view")
def audit_log(request: KetacareRequest) -> HttpResponse:
    """The clinic's audit trail, newest first, filtered by patient, user, action and date."""
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.filter(clinic=request.actor.clinic).select_related("patient")
    filters: dict[str, object] = {}
    if form.is_valid():
        data = form.cleaned_data
        if data["patient"]:
            events = events.filter(patient__mrn=data["patient"].strip())
        if data["user"]:
            events = events.filter(actor_username=data["user"].strip())
        if data["action"]:
            events = events.filter(action=data["action"])
        # Whole UTC days, as the page shows times in UTC; a range keeps the index usable.
        if data["date_from"]:
            events = events.filter(occurred_at__gte=utc_midnight(data["date_from"]))
        if data["date_to"]:
            events = events.filter(
                occurred_at__lt=utc_midnight(data["date_to"] + timedelta(days=1))
            )
        filters = {k: str(v) for k, v in data.items() if v}
    page = Paginator(events.order_by("-occurred_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    # Read the page before recording this view, so the viewer's own event does not push the
    # oldest row of the page out.
    page.object_list = list(page.object_list)
    record(request.actor, Action.VIEW, object_type="audit_log", changes={"filters": filters})
    return render(
        request,
        "audit/log.html",
        {"form": form, "page": page, "querystring": _without_page(request)},
    )


def utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
