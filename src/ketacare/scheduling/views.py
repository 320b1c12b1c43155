from datetime import timedelta

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.bounds import OutOfBounds, parse_date
from ketacare.scheduling.queries import day_by_chair, needs_rebooking


@requires("scheduling.view")
def day_page(request: KetacareRequest) -> HttpResponse:
    """One day of the appointment book, a column per chair (``?day=``, else today, in the
    clinic's time zone). Read-only: booking pages come with the booking rules."""
    clinic = request.actor.clinic
    assert clinic is not None  # requires() admits members of a clinic only
    today = timezone.localdate(timezone.now(), clinic.zone)
    try:
        day = parse_date(request.GET.get("day"), today, "The day") or today
    except OutOfBounds as error:
        messages.error(request, f"{error} Showing today.")
        day = today
    context = {
        "day": day,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "zone": clinic.zone,
        "columns": day_by_chair(clinic, day),
        # Whatever the day: a closure's casualties stay in sight until they have a new time.
        "rebooking": list(needs_rebooking(clinic)),
    }
    return render(request, "scheduling/day.html", context)
