"""The calendar pages: a week of the book per chair and per staff member, and the staff
member's private iCalendar feed (the page that makes its URL, and the feed itself)."""

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from ketacare.accounts.access import KetacareRequest, client_ip, public, requires
from ketacare.accounts.models import Clinic
from ketacare.actor import Actor
from ketacare.bounds import OutOfBounds, parse_date
from ketacare.scheduling import feed as feeds
from ketacare.scheduling.actions import feed as feed_actions
from ketacare.scheduling.calendar import (
    clinic_staff,
    days_of,
    monday_of,
    staff_member,
    week_by_chair,
    week_of_staff,
)


def week_from(request: KetacareRequest) -> date:
    """The Monday of ``?week=`` (any day of the week will do), else of this week, in the
    clinic's time zone; a date that is not one says so and shows this week."""
    today = timezone.localdate(timezone.now(), request.actor.clinic.zone)
    try:
        day = parse_date(request.GET.get("week"), today, "The week") or today
    except OutOfBounds as error:
        messages.error(request, f"{error} Showing this week.")
        day = today
    return monday_of(day)


def week_navigation(clinic: Clinic, monday: date) -> dict[str, Any]:
    """What a page of one week shows around it: its days, today, the weeks either side and
    this week, on the clinic's clock (the week pages and the rota)."""
    today = timezone.localdate(timezone.now(), clinic.zone)
    return {
        "monday": monday,
        "days": days_of(monday),
        "today": today,
        "previous_week": monday - timedelta(days=7),
        "next_week": monday + timedelta(days=7),
        "this_week": monday_of(today),
        "zone": clinic.zone,
    }


def _week_context(request: KetacareRequest, monday: date) -> dict[str, object]:
    clinic = request.actor.clinic
    return {**week_navigation(clinic, monday), "staff": clinic_staff(clinic)}


@requires("scheduling.view")
def week_page(request: KetacareRequest) -> HttpResponse:
    """A week of the appointment book, a row per chair and a column per day."""
    monday = week_from(request)
    context = _week_context(request, monday)
    context["rows"] = week_by_chair(request.actor.clinic, monday)
    return render(request, "scheduling/week.html", context)


@requires("scheduling.view")
def staff_week_page(request: KetacareRequest, staff_id: int) -> HttpResponse:
    """One staff member's week: their appointments day by day. Another clinic's staff member
    is "not found", so ids reveal nothing."""
    member = staff_member(request.actor.clinic, staff_id)
    if member is None:
        raise Http404("No such staff member at this clinic.")
    monday = week_from(request)
    context = _week_context(request, monday)
    context["member"] = member
    by_day = week_of_staff(request.actor.clinic, member, monday)
    context["by_day"] = list(zip(days_of(monday), by_day, strict=True))
    return render(request, "scheduling/staff_week.html", context)


def feed_url(token: str) -> str:
    return settings.KETACARE_BASE_URL.rstrip("/") + reverse("schedule-feed", args=[token])


@requires("scheduling.feed")
@never_cache  # the page may show the secret URL
def feed_page(request: KetacareRequest) -> HttpResponse:
    """ "My calendar feed": make, rotate or stop the private URL of one's appointments. A new
    URL is shown on the answer to the POST that made it, once: only its digest is kept."""
    url = None
    if request.method == "POST":
        if request.POST.get("do") == "stop":
            if feed_actions.stop_feed(request.actor):
                messages.success(request, "Your calendar feed is off; its URL no longer works.")
            return redirect("schedule-feed-page")
        url = feed_url(feed_actions.make_feed(request.actor))
    return render(
        request,
        "scheduling/feed.html",
        {"feed": feeds.current_feed(request.actor), "url": url},
    )


@public
@require_safe  # GET, and HEAD: calendar applications ask whether the feed changed
@never_cache
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar feed a calendar application fetches, without a session: the token is
    the key. Unknown, rotated or stopped tokens are "not found", like any missing page."""
    reader = feeds.reader_of(token)
    if reader is None:
        raise Http404("No such calendar feed.")
    actor = Actor(
        user=reader.feed.staff, role=reader.role, clinic=reader.feed.clinic, ip=client_ip(request)
    )
    response = HttpResponse(
        feeds.read_feed(actor, reader.feed), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'inline; filename="appointments.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response
