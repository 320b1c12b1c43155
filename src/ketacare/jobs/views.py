from django.http import HttpResponse
from django.shortcuts import render

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.jobs.queries import failed_jobs


@requires("jobs.view_failed")
def failed_jobs_page(request: KetacareRequest) -> HttpResponse:
    """The jobs that failed after their last retry: what, when, how often tried, and why."""
    return render(request, "jobs/failed.html", {"jobs": failed_jobs(request.actor.clinic)})
