"""Stock in and out of the book: receipts, dispenses with their witnessed waste, transfers
between locations, returns to the supplier and reported losses. Each page parses its form and
calls one action of ``inventory.actions``; a refusal (StockError) is shown on the form and
nothing is written."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.inventory import actions, queries
from ketacare.inventory.actions import Signature
from ketacare.inventory.forms import (
    DispenseForm,
    LossForm,
    ReceiveForm,
    ReturnForm,
    TransferForm,
    WasteForm,
    loss_details,
    witness_signature,
)
from ketacare.inventory.models import LedgerEntry, Product
from ketacare.inventory.reports.entries import plain
from ketacare.inventory.views.shared import (
    amount,
    entry_of,
    ledger_url,
    movement_page,
    not_set_up,
    registration_of,
)
from ketacare.web.submit import submitted


@dataclass(frozen=True)
class LeftToWaste:
    """What is left to waste, in the unit the waste form asks for and in mg."""

    mg: Decimal
    product: Product

    @property
    def units(self) -> str:
        return plain((self.mg / self.product.mg_per_unit).quantize(Decimal("0.01")))

    def __str__(self) -> str:
        return f"{self.units} {self.product.unit} ({plain(self.mg)} mg)"


@requires("inventory.move")
def receive(request: KetacareRequest) -> HttpResponse:
    registration = registration_of(request)
    if registration is None:
        return not_set_up(request)
    form = ReceiveForm(request.POST or None, registration=registration)
    done, _ = submitted(
        request,
        form,
        lambda data: actions.receive(
            request.actor,
            registration.pk,
            product_id=data["product"].pk,
            lot_number=data["lot_number"],
            expires_on=data["expires_on"],
            location_id=data["location"].pk,
            units=data["quantity"],
            supplier=data["supplier"],
            invoice=data["invoice"],
        ),
        lambda entry: (
            f"Received {amount(entry)} of lot {entry.lot.lot_number} (entry #{entry.sequence})."
        ),
    )
    if done:
        return redirect("inventory-stock")
    return movement_page(
        request,
        form,
        registration=registration,
        title="Receive stock",
        explanation="Stock in from a supplier, into a new lot or one already on record.",
        button="Record receipt",
    )


@requires("inventory.move")
def dispense(request: KetacareRequest) -> HttpResponse:
    registration = registration_of(request)
    if registration is None:
        return not_set_up(request)
    balances = queries.stock_with_units(registration)
    today = timezone.localdate()
    form = DispenseForm(
        request.POST or None,
        balances=balances,
        clinic=request.actor.clinic,
        any_expired=any(b.lot.expires_on < today for b in balances),
    )

    def act(data: dict[str, Any]) -> LedgerEntry:
        lot_id, location_id = data["stock"]
        override = None
        if data.get("override_username") or data.get("override_password"):
            override = Signature(
                data["override_username"], data["override_password"], data.get("override_code", "")
            )
        return actions.dispense(
            request.actor,
            registration.pk,
            lot_id=lot_id,
            location_id=location_id,
            units=data["quantity"],
            patient_id=data["patient_mrn"].pk,
            dose_mg=data["dose_mg"],
            expiry_override=override,
            override_reason=data.get("override_reason", ""),
        )

    done, _ = submitted(
        request,
        form,
        act,
        lambda entry: (
            f"Dispensed {amount(entry)} of lot {entry.lot.lot_number} for "
            f"{entry.patient.full_name} (MRN {entry.patient.mrn}), entry #{entry.sequence}."
        ),
    )
    if done:
        return redirect(ledger_url(registration))
    return movement_page(
        request,
        form,
        registration=registration,
        title="Dispense",
        explanation="Stock out for one patient's administration. Whatever the dose leaves is "
        "wasted before a witness, against this dispense.",
        button="Record dispense",
    )


@requires("inventory.move")
def waste(request: KetacareRequest, entry_id: int) -> HttpResponse:
    entry = entry_of(request, entry_id)
    if entry.kind != LedgerEntry.Kind.DISPENSE:
        messages.error(
            request,
            f"Entry #{entry.sequence} is not a dispense; waste is recorded against a dispense.",
        )
        return redirect(ledger_url(entry.registration))
    if queries.is_reversed(entry):
        # The reversal put the whole dispense back into stock: nothing of it is left to waste.
        messages.error(
            request, f"Dispense #{entry.sequence} is reversed; nothing is left to waste."
        )
        return redirect(ledger_url(entry.registration))
    product = entry.lot.product
    form = WasteForm(request.POST or None, unit=product.unit)
    done, _ = submitted(
        request,
        form,
        lambda data: actions.waste(
            request.actor,
            entry.registration_id,
            dispense_id=entry.pk,
            units=data["quantity"],
            reason=data["reason"],
            witness=witness_signature(data),
        ),
        lambda wasted: (
            f"Wasted {amount(wasted)} of dispense #{entry.sequence}, witnessed by "
            f"{wasted.witness.get_full_name() or wasted.witness.get_username()}."
        ),
    )
    if done:
        return redirect(ledger_url(entry.registration))
    return movement_page(
        request,
        form,
        registration=entry.registration,
        entry=entry,
        left_to_waste=LeftToWaste(queries.left_to_waste([entry])[entry.pk], product),
        title=f"Waste from dispense #{entry.sequence}",
        explanation="Dispose of what the dose left over. The witness watches and signs with "
        "their own username and password.",
        button="Record witnessed waste",
    )


@requires("inventory.move")
def transfer(request: KetacareRequest) -> HttpResponse:
    registration = registration_of(request)
    if registration is None:
        return not_set_up(request)
    form = TransferForm(
        request.POST or None,
        registration=registration,
        balances=queries.stock_with_units(registration),
    )
    done, _ = submitted(
        request,
        form,
        lambda data: actions.transfer(
            request.actor,
            registration.pk,
            lot_id=data["stock"][0],
            from_location_id=data["stock"][1],
            to_location_id=data["to_location"].pk,
            units=data["quantity"],
        ),
        lambda entry: (
            f"Moved {amount(entry)} of lot {entry.lot.lot_number} from "
            f"{entry.from_location} to {entry.to_location}."
        ),
    )
    if done:
        return redirect("inventory-stock")
    return movement_page(
        request,
        form,
        registration=registration,
        title="Transfer between locations",
        button="Record transfer",
    )


@requires("inventory.move")
def return_to_supplier(request: KetacareRequest) -> HttpResponse:
    registration = registration_of(request)
    if registration is None:
        return not_set_up(request)
    form = ReturnForm(request.POST or None, balances=queries.stock_with_units(registration))
    done, _ = submitted(
        request,
        form,
        lambda data: actions.return_to_supplier(
            request.actor,
            registration.pk,
            lot_id=data["stock"][0],
            location_id=data["stock"][1],
            units=data["quantity"],
            supplier=data["supplier"],
            reference=data["reference"],
            reason=data["reason"],
        ),
        lambda entry: (
            f"Returned {amount(entry)} of lot {entry.lot.lot_number} to {entry.supplier} "
            f"(reference {entry.invoice})."
        ),
    )
    if done:
        return redirect("inventory-stock")
    return movement_page(
        request,
        form,
        registration=registration,
        title="Return to supplier",
        explanation="Stock out to the supplier or a reverse distributor (expired or recalled).",
        button="Record return",
    )


@requires("inventory.count")
def loss(request: KetacareRequest) -> HttpResponse:
    registration = registration_of(request)
    if registration is None:
        return not_set_up(request)
    form = LossForm(request.POST or None, balances=queries.stock_with_units(registration))
    done, _ = submitted(
        request,
        form,
        lambda data: actions.report_loss(
            request.actor,
            registration.pk,
            lot_id=data["stock"][0],
            location_id=data["stock"][1],
            units=data["quantity"],
            details=loss_details(data),
        ),
        lambda entry: (
            f"Loss of {amount(entry)} of lot {entry.lot.lot_number} recorded. "
            "File DEA Form 106 with these facts."
        ),
    )
    if done:
        return redirect(ledger_url(registration))
    return movement_page(
        request,
        form,
        registration=registration,
        title="Report a loss or theft",
        explanation="Takes the missing stock off the book and keeps the facts DEA Form 106 "
        "asks for.",
        button="Record loss",
    )
