"""Reversing an entry: a new entry that names and undoes it, the entry itself staying in the
ledger. Reversing a waste, a loss or a receipt needs a witness
(``actions.reversal_needs_witness``)."""

from django.http import HttpResponse
from django.shortcuts import redirect

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.inventory import actions
from ketacare.inventory.forms import ReverseForm, witness_signature
from ketacare.inventory.views.shared import entry_of, ledger_url, movement_page
from ketacare.web.submit import submitted


@requires("inventory.move")
def reverse_entry(request: KetacareRequest, entry_id: int) -> HttpResponse:
    entry = entry_of(request, entry_id)
    form = ReverseForm(request.POST or None, needs_witness=actions.reversal_needs_witness(entry))
    done, _ = submitted(
        request,
        form,
        lambda data: actions.reverse(
            request.actor,
            entry.registration_id,
            entry_id=entry.pk,
            reason=data["reason"],
            witness=witness_signature(data),
        ),
        lambda reversal: f"Entry #{entry.sequence} reversed by entry #{reversal.sequence}.",
    )
    if done:
        return redirect(ledger_url(entry.registration))
    return movement_page(
        request,
        form,
        registration=entry.registration,
        entry=entry,
        title=f"Reverse entry #{entry.sequence}",
        explanation="A reversal undoes the entry with a new entry that names it; the entry "
        "itself stays in the ledger."
        + (
            " Reversing a waste, a loss or a receipt needs a witness, who signs with their own "
            "username and password."
            if actions.reversal_needs_witness(entry)
            else ""
        ),
        button="Record reversal",
    )
