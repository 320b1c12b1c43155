"""The book as it stands: what the clinic holds, and every entry of a registration's ledger."""

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.audit.record import Action, record
from ketacare.inventory import actions, queries
from ketacare.inventory.models import LedgerEntry
from ketacare.inventory.views.shared import not_set_up, registration_of

LEDGER_PAGE_SIZE = 50


@requires("inventory.view")
def stock(request: KetacareRequest) -> HttpResponse:
    """What the clinic holds now: each registration's balances per product, lot and location."""
    registrations = list(queries.registrations(request.actor.clinic))
    today = timezone.localdate()
    holdings = queries.stock_by_registration(registrations, today)
    return render(
        request,
        "inventory/stock.html",
        {
            # With several registrations, each one's links name it: ?registration=<id>.
            "registrations": [
                (r, holdings[r.pk], f"?registration={r.pk}" if len(registrations) > 1 else "")
                for r in registrations
            ],
            "open_discrepancies": queries.open_discrepancy_count(request.actor.clinic),
            "warning_days": actions.policy()["expiry_warning_days"],
            "today": today,
        },
    )


@requires("inventory.view")
def ledger(request: KetacareRequest) -> HttpResponse:
    """Every entry of the registration's ledger, newest first."""
    registration = registration_of(request)
    if registration is None:
        return not_set_up(request)
    page = Paginator(queries.ledger(registration), LEDGER_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    dispenses = [e for e in page if e.kind == LedgerEntry.Kind.DISPENSE]
    wasteable = {pk for pk, left in queries.left_to_waste(dispenses).items() if left > 0}
    # The ledger names the patients of its dispenses: reading it is audited like a chart.
    record(
        request.actor,
        Action.VIEW,
        object_type="ledger",
        changes={"registration": registration.pk, "page": page.number},
    )
    return render(
        request,
        "inventory/ledger.html",
        {
            "registration": registration,
            "page": page,
            "wasteable": wasteable,
            "q": f"registration={registration.pk}&" if "registration" in request.GET else "",
        },
    )
