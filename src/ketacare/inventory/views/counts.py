"""Physical counts and the discrepancies they open: the count sheet, the list of
discrepancies, and resolving one (explained, the book adjusted to the count, or reported as a
loss with its DEA Form 106 facts)."""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.inventory import actions, queries
from ketacare.inventory.forms import CountForm, ResolveForm, loss_details
from ketacare.inventory.models import PhysicalCount
from ketacare.inventory.views.shared import (
    discrepancy_of,
    not_set_up,
    registration_of,
    with_registration,
)
from ketacare.web.submit import submitted

RESOLVED_SHOWN = 50


@requires("inventory.count")
def count_new(request: KetacareRequest) -> HttpResponse:
    registration = registration_of(request)
    if registration is None:
        return not_set_up(request)
    rows = queries.count_sheet_rows(registration, timezone.localdate())
    form = CountForm(request.POST or None, rows=rows, first=not queries.has_counts(registration))

    def recorded(count: PhysicalCount) -> str:
        lines, discrepancies = queries.count_summary(count)
        return f"Count recorded: {lines} line(s), {discrepancies} discrepancy(ies)."

    done, _ = submitted(
        request,
        form,
        lambda data: actions.record_count(
            request.actor,
            registration.pk,
            kind=data["kind"],
            lines=form.counted(),
            note=data["note"],
        ),
        recorded,
    )
    if done:
        return redirect(with_registration("inventory-discrepancies", registration))
    return render(
        request,
        "inventory/count_form.html",
        {"form": form, "registration": registration},
    )


@requires("inventory.view")
def discrepancies(request: KetacareRequest) -> HttpResponse:
    clinic = request.actor.clinic
    return render(
        request,
        "inventory/discrepancies.html",
        {
            "open": queries.open_discrepancies(clinic),
            "resolved": queries.resolved_discrepancies(clinic, RESOLVED_SHOWN),
            "resolved_shown": RESOLVED_SHOWN,
        },
    )


@requires("inventory.count")
def discrepancy_resolve(request: KetacareRequest, discrepancy_id: int) -> HttpResponse:
    discrepancy = discrepancy_of(request, discrepancy_id)
    form = ResolveForm(request.POST or None) if discrepancy.is_open else None
    if form is not None:
        done, _ = submitted(
            request,
            form,
            lambda data: actions.resolve_discrepancy(
                request.actor,
                discrepancy.registration_id,
                discrepancy_id=discrepancy.pk,
                resolution=data["resolution"],
                note=data["note"],
                loss_details=loss_details(data),
            ),
            lambda resolved: f"Discrepancy resolved: {resolved.get_resolution_display()}.",
        )
        if done:
            return redirect("inventory-discrepancies")
    return render(
        request,
        "inventory/discrepancy.html",
        {"discrepancy": discrepancy, "line": discrepancy.line, "form": form},
    )
