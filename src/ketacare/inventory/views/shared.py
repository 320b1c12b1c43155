"""What the ledger's pages share: the registration a page works on, an entry or discrepancy
looked up within the clinic, and the links back."""

from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from ketacare.accounts.access import KetacareRequest
from ketacare.bounds import parse_id
from ketacare.inventory import queries
from ketacare.inventory.models import Discrepancy, LedgerEntry, Registration

# --- what a page works on ---------------------------------------------------------------------


def registration_of(request: KetacareRequest) -> Registration | None:
    """The registration a page works on: the one chosen with ``?registration=`` (a clinic
    with more than one), else the clinic's first; None before set-up."""
    registrations = queries.registrations(request.actor.clinic)
    chosen = request.GET.get("registration", "")
    if chosen.isdigit():
        # Digits that are no id (40 of them) name no registration: not found, like any other.
        return get_object_or_404(registrations, pk=parse_id(chosen) or 0)
    return registrations.first()


def not_set_up(request: HttpRequest) -> HttpResponse:
    messages.error(request, "This clinic has no DEA registration yet; a clinic admin sets it up.")
    return redirect("inventory-stock")


def entry_of(request: KetacareRequest, entry_id: int) -> LedgerEntry:
    # Another clinic's entry is "not found", never "forbidden": ids reveal nothing.
    return get_object_or_404(queries.entries_of(request.actor.clinic), pk=entry_id)


def discrepancy_of(request: KetacareRequest, discrepancy_id: int) -> Discrepancy:
    return get_object_or_404(queries.discrepancies_of(request.actor.clinic), pk=discrepancy_id)


# --- what a page shows ------------------------------------------------------------------------


def movement_page(request: HttpRequest, form: Form, **context: Any) -> HttpResponse:
    return render(request, "inventory/movement.html", {"form": form, **context})


def amount(entry: LedgerEntry) -> str:
    return f"{entry.quantity_units} {entry.lot.product.unit} ({entry.quantity_mg} mg)"


def with_registration(name: str, registration: Registration) -> str:
    return f"{reverse(name)}?registration={registration.pk}"


def ledger_url(registration: Registration) -> str:
    return with_registration("inventory-ledger", registration)
