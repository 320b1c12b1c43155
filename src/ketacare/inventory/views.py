"""Pages of the controlled-substance ledger. Each parses a form and calls one action of
``inventory.actions``; a refusal (StockError) is shown on the form and nothing is written."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, Sum
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.access import requires
from ketacare.audit.record import Action, record
from ketacare.bounds import parse_id
from ketacare.inventory import actions
from ketacare.inventory.actions import Signature, StockError
from ketacare.inventory.forms import (
    CountForm,
    DispenseForm,
    LocationForm,
    LossForm,
    ProductForm,
    ReceiveForm,
    RegistrationForm,
    ResolveForm,
    ReturnForm,
    ReverseForm,
    TransferForm,
    WasteForm,
    loss_details,
    stock_with_units,
    witness_signature,
)
from ketacare.inventory.models import (
    Discrepancy,
    LedgerEntry,
    Product,
    Registration,
    StockBalance,
)

LEDGER_PAGE_SIZE = 50
RESOLVED_SHOWN = 50
Kind = LedgerEntry.Kind


def _submitted(
    request: HttpRequest,
    form: Form,
    act: Callable[[dict[str, Any]], Any],
    success: Callable[[Any], str] | str,
) -> tuple[bool, Any]:
    """Run the action on a valid POST: (True, its result), or (False, None) when nothing was
    done (a GET, an invalid form, or a refusal, which is added to the form's errors)."""
    if request.method != "POST" or not form.is_valid():
        return False, None
    try:
        result = act(form.cleaned_data)
    except StockError as error:
        form.add_error(None, str(error))
        return False, None
    messages.success(request, success if isinstance(success, str) else success(result))
    return True, result


def _registrations(request: HttpRequest) -> list[Registration]:
    return list(Registration.objects.filter(clinic=request.actor.clinic).order_by("pk"))


def _registration(request: HttpRequest) -> Registration | None:
    """The registration a page works on: the one chosen with ``?registration=`` (a clinic
    with more than one), else the clinic's first; None before set-up."""
    registrations = Registration.objects.filter(clinic=request.actor.clinic).order_by("pk")
    chosen = request.GET.get("registration", "")
    if chosen.isdigit():
        # Digits that are no id (40 of them) name no registration: not found, like any other.
        return get_object_or_404(registrations, pk=parse_id(chosen) or 0)
    return registrations.first()


def _not_set_up(request: HttpRequest) -> HttpResponse:
    messages.error(request, "This clinic has no DEA registration yet; a clinic admin sets it up.")
    return redirect("inventory-stock")


def _entry(request: HttpRequest, entry_id: int) -> LedgerEntry:
    # Another clinic's entry is "not found", never "forbidden": ids reveal nothing.
    queryset = LedgerEntry.objects.select_related(
        "registration",
        "lot__product",
        "from_location",
        "to_location",
        "patient",
        "actor",
        "witness",
        "corrects",
        "reversed_by",
    )
    return get_object_or_404(queryset, pk=entry_id, registration__clinic=request.actor.clinic)


def _discrepancy(request: HttpRequest, discrepancy_id: int) -> Discrepancy:
    queryset = Discrepancy.objects.select_related(
        "registration",
        "line__count__counted_by",
        "line__lot__product",
        "line__location",
        "entry",
        "resolved_by",
    )
    return get_object_or_404(queryset, pk=discrepancy_id, registration__clinic=request.actor.clinic)


def _is_reversed(entry: LedgerEntry) -> bool:
    return LedgerEntry.objects.filter(corrects=entry).exists()


def _left_to_waste(dispenses: list[LedgerEntry]) -> dict[int, Decimal]:
    """What each dispense's dose left and no (unreversed) waste has taken, in mg, in one
    query: shown on the waste form and deciding the ledger's waste links; the action itself
    is the one that enforces it."""
    wastes = LedgerEntry.objects.filter(kind=Kind.WASTE, reversed_by__isnull=True)
    wasted = dict(
        wastes.filter(dispense__in=dispenses)
        .values("dispense")
        .annotate(total=Sum("quantity_mg"))
        .values_list("dispense", "total")
    )
    return {
        d.pk: d.quantity_mg - (d.dose_mg or 0) - wasted.get(d.pk, Decimal(0)) for d in dispenses
    }


@dataclass(frozen=True)
class LeftToWaste:
    """What is left to waste, in the unit the waste form asks for and in mg."""

    mg: Decimal
    product: Product

    @property
    def units(self) -> str:
        units = (self.mg / self.product.mg_per_unit).quantize(Decimal("0.01"))
        return _plain(units)

    def __str__(self) -> str:
        return f"{self.units} {self.product.unit} ({_plain(self.mg)} mg)"


def _plain(value: Decimal) -> str:
    """16.00 → "16", 2.50 → "2.5": a quantity as staff write it."""
    return f"{value.normalize():f}"


def _movement_page(request: HttpRequest, form: Form, **context: Any) -> HttpResponse:
    return render(request, "inventory/movement.html", {"form": form, **context})


def _units(entry: LedgerEntry) -> str:
    return f"{entry.quantity_units} {entry.lot.product.unit} ({entry.quantity_mg} mg)"


# --- stock and ledger -------------------------------------------------------------------------


@dataclass(frozen=True)
class StockRow:
    balance: StockBalance
    mg: Decimal
    expired: bool
    expiring: bool
    days_left: int


@dataclass
class ProductStock:
    product: Product
    rows: list[StockRow]

    @property
    def units(self) -> Decimal:
        return sum((row.balance.quantity_units for row in self.rows), Decimal(0))

    @property
    def mg(self) -> Decimal:
        return sum((row.mg for row in self.rows), Decimal(0))


def _stock_by_registration(
    registrations: list[Registration], today: date
) -> dict[int, list[ProductStock]]:
    """Balances with stock, per registration and product, in one query."""
    warning_days = int(actions.policy()["expiry_warning_days"])
    balances = (
        StockBalance.objects.filter(lot__registration__in=registrations, quantity_units__gt=0)
        .select_related("lot__product", "location")
        .order_by("lot__product__name", "lot__expires_on", "lot__lot_number", "location__name")
    )
    stock: dict[int, dict[int, ProductStock]] = {r.pk: {} for r in registrations}
    for balance in balances:
        lot = balance.lot
        days_left = (lot.expires_on - today).days
        row = StockRow(
            balance=balance,
            mg=lot.product.mg(balance.quantity_units),
            expired=days_left < 0,
            expiring=0 <= days_left <= warning_days,
            days_left=days_left,
        )
        products = stock[lot.registration_id]
        products.setdefault(lot.product_id, ProductStock(lot.product, [])).rows.append(row)
    return {pk: list(products.values()) for pk, products in stock.items()}


@requires("inventory.view")
def stock(request: HttpRequest) -> HttpResponse:
    """What the clinic holds now: each registration's balances per product, lot and location."""
    registrations = _registrations(request)
    today = timezone.localdate()
    holdings = _stock_by_registration(registrations, today)
    open_discrepancies = Discrepancy.objects.filter(
        registration__clinic=request.actor.clinic, resolved_at__isnull=True
    ).count()
    return render(
        request,
        "inventory/stock.html",
        {
            # With several registrations, each one's links name it: ?registration=<id>.
            "registrations": [
                (r, holdings[r.pk], f"?registration={r.pk}" if len(registrations) > 1 else "")
                for r in registrations
            ],
            "open_discrepancies": open_discrepancies,
            "warning_days": actions.policy()["expiry_warning_days"],
            "today": today,
        },
    )


@requires("inventory.view")
def ledger(request: HttpRequest) -> HttpResponse:
    """Every entry of the registration's ledger, newest first."""
    registration = _registration(request)
    if registration is None:
        return _not_set_up(request)
    entries = (
        LedgerEntry.objects.filter(registration=registration)
        .select_related(
            "lot__product",
            "from_location",
            "to_location",
            "patient",
            "actor",
            "witness",
            "override_by",
            "corrects",
            "dispense",
            "reversed_by",
        )
        .order_by("-sequence")
    )
    page = Paginator(entries, LEDGER_PAGE_SIZE).get_page(request.GET.get("page"))
    dispenses = [e for e in page if e.kind == Kind.DISPENSE]
    wasteable = {pk for pk, left in _left_to_waste(dispenses).items() if left > 0}
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


# --- movements --------------------------------------------------------------------------------


@requires("inventory.move")
def receive(request: HttpRequest) -> HttpResponse:
    registration = _registration(request)
    if registration is None:
        return _not_set_up(request)
    form = ReceiveForm(request.POST or None, registration=registration)
    done, _ = _submitted(
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
            f"Received {_units(entry)} of lot {entry.lot.lot_number} (entry #{entry.sequence})."
        ),
    )
    if done:
        return redirect("inventory-stock")
    return _movement_page(
        request,
        form,
        registration=registration,
        title="Receive stock",
        explanation="Stock in from a supplier, into a new lot or one already on record.",
        button="Record receipt",
    )


@requires("inventory.move")
def dispense(request: HttpRequest) -> HttpResponse:
    registration = _registration(request)
    if registration is None:
        return _not_set_up(request)
    balances = stock_with_units(registration)
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

    done, _ = _submitted(
        request,
        form,
        act,
        lambda entry: (
            f"Dispensed {_units(entry)} of lot {entry.lot.lot_number} for "
            f"{entry.patient.full_name} (MRN {entry.patient.mrn}), entry #{entry.sequence}."
        ),
    )
    if done:
        return redirect(_ledger_url(registration))
    return _movement_page(
        request,
        form,
        registration=registration,
        title="Dispense",
        explanation="Stock out for one patient's administration. Whatever the dose leaves is "
        "wasted before a witness, against this dispense.",
        button="Record dispense",
    )


@requires("inventory.move")
def waste(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = _entry(request, entry_id)
    if entry.kind != Kind.DISPENSE:
        messages.error(
            request,
            f"Entry #{entry.sequence} is not a dispense; waste is recorded against a dispense.",
        )
        return redirect(_ledger_url(entry.registration))
    if _is_reversed(entry):
        # The reversal put the whole dispense back into stock: nothing of it is left to waste.
        messages.error(
            request, f"Dispense #{entry.sequence} is reversed; nothing is left to waste."
        )
        return redirect(_ledger_url(entry.registration))
    product = entry.lot.product
    form = WasteForm(request.POST or None, unit=product.unit)
    done, _ = _submitted(
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
            f"Wasted {_units(wasted)} of dispense #{entry.sequence}, witnessed by "
            f"{wasted.witness.get_full_name() or wasted.witness.get_username()}."
        ),
    )
    if done:
        return redirect(_ledger_url(entry.registration))
    return _movement_page(
        request,
        form,
        registration=entry.registration,
        entry=entry,
        left_to_waste=LeftToWaste(_left_to_waste([entry])[entry.pk], product),
        title=f"Waste from dispense #{entry.sequence}",
        explanation="Dispose of what the dose left over. The witness watches and signs with "
        "their own username and password.",
        button="Record witnessed waste",
    )


@requires("inventory.move")
def transfer(request: HttpRequest) -> HttpResponse:
    registration = _registration(request)
    if registration is None:
        return _not_set_up(request)
    form = TransferForm(
        request.POST or None, registration=registration, balances=stock_with_units(registration)
    )
    done, _ = _submitted(
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
            f"Moved {_units(entry)} of lot {entry.lot.lot_number} from "
            f"{entry.from_location} to {entry.to_location}."
        ),
    )
    if done:
        return redirect("inventory-stock")
    return _movement_page(
        request,
        form,
        registration=registration,
        title="Transfer between locations",
        button="Record transfer",
    )


@requires("inventory.move")
def return_to_supplier(request: HttpRequest) -> HttpResponse:
    registration = _registration(request)
    if registration is None:
        return _not_set_up(request)
    form = ReturnForm(request.POST or None, balances=stock_with_units(registration))
    done, _ = _submitted(
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
            f"Returned {_units(entry)} of lot {entry.lot.lot_number} to {entry.supplier} "
            f"(reference {entry.invoice})."
        ),
    )
    if done:
        return redirect("inventory-stock")
    return _movement_page(
        request,
        form,
        registration=registration,
        title="Return to supplier",
        explanation="Stock out to the supplier or a reverse distributor (expired or recalled).",
        button="Record return",
    )


@requires("inventory.count")
def loss(request: HttpRequest) -> HttpResponse:
    registration = _registration(request)
    if registration is None:
        return _not_set_up(request)
    form = LossForm(request.POST or None, balances=stock_with_units(registration))
    done, _ = _submitted(
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
            f"Loss of {_units(entry)} of lot {entry.lot.lot_number} recorded. "
            "File DEA Form 106 with these facts."
        ),
    )
    if done:
        return redirect(_ledger_url(registration))
    return _movement_page(
        request,
        form,
        registration=registration,
        title="Report a loss or theft",
        explanation="Takes the missing stock off the book and keeps the facts DEA Form 106 "
        "asks for.",
        button="Record loss",
    )


@requires("inventory.move")
def reverse_entry(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = _entry(request, entry_id)
    form = ReverseForm(request.POST or None, needs_witness=actions.reversal_needs_witness(entry))
    done, _ = _submitted(
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
        return redirect(_ledger_url(entry.registration))
    return _movement_page(
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


# --- counts and discrepancies -----------------------------------------------------------------


@requires("inventory.count")
def count_new(request: HttpRequest) -> HttpResponse:
    registration = _registration(request)
    if registration is None:
        return _not_set_up(request)
    today = timezone.localdate()
    # Every place stock is on the book, and the empty places of lots still in date (where
    # stock could turn up); long-empty expired lots would only lengthen the sheet.
    rows = list(
        StockBalance.objects.filter(lot__registration=registration)
        .filter(Q(quantity_units__gt=0) | Q(lot__expires_on__gte=today))
        .select_related("lot__product", "location")
        .order_by("lot__product__name", "lot__expires_on", "lot__lot_number", "location__name")
    )
    form = CountForm(request.POST or None, rows=rows, first=not registration.counts.exists())
    done, _ = _submitted(
        request,
        form,
        lambda data: actions.record_count(
            request.actor,
            registration.pk,
            kind=data["kind"],
            lines=form.counted(),
            note=data["note"],
        ),
        lambda count: (
            f"Count recorded: {count.lines.count()} line(s), "
            f"{count.lines.filter(discrepancy__isnull=False).count()} discrepancy(ies)."
        ),
    )
    if done:
        return redirect(_with_registration("inventory-discrepancies", registration))
    return render(
        request,
        "inventory/count_form.html",
        {"form": form, "registration": registration},
    )


@requires("inventory.view")
def discrepancies(request: HttpRequest) -> HttpResponse:
    queryset = Discrepancy.objects.filter(registration__clinic=request.actor.clinic).select_related(
        "registration",
        "line__count__counted_by",
        "line__lot__product",
        "line__location",
        "entry",
        "resolved_by",
    )
    return render(
        request,
        "inventory/discrepancies.html",
        {
            "open": list(queryset.filter(resolved_at__isnull=True).order_by("opened_at", "pk")),
            "resolved": list(
                queryset.filter(resolved_at__isnull=False).order_by("-resolved_at")[:RESOLVED_SHOWN]
            ),
            "resolved_shown": RESOLVED_SHOWN,
        },
    )


@requires("inventory.count")
def discrepancy_resolve(request: HttpRequest, discrepancy_id: int) -> HttpResponse:
    discrepancy = _discrepancy(request, discrepancy_id)
    form = ResolveForm(request.POST or None) if discrepancy.is_open else None
    if form is not None:
        done, _ = _submitted(
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


# --- set-up -----------------------------------------------------------------------------------


@requires("inventory.setup")
def setup(request: HttpRequest) -> HttpResponse:
    """The registration, its storage locations and the product list, one form each; the
    submit button's name says which form was sent."""
    registration = _registration(request)
    posted = request.POST if request.method == "POST" else None
    which = next((k for k in ("registration", "location", "product") if posted and k in posted), "")
    forms = {
        "registration": RegistrationForm(
            posted if which == "registration" else None, prefix="registration"
        ),
        "location": LocationForm(posted if which == "location" else None, prefix="location"),
        "product": ProductForm(posted if which == "product" else None, prefix="product"),
    }
    done = False
    if which == "registration":
        done, _ = _submitted(
            request,
            forms["registration"],
            lambda data: actions.create_registration(
                request.actor, data["dea_number"], data["name"], data["address"]
            ),
            lambda created: f"Registration {created} created. Add its storage locations.",
        )
    elif which == "location" and registration is not None:
        done, _ = _submitted(
            request,
            forms["location"],
            lambda data: actions.add_location(
                request.actor, registration.pk, data["name"], data["kind"]
            ),
            lambda location: f"Location {location.name} added.",
        )
    elif which == "product":
        done, _ = _submitted(
            request,
            forms["product"],
            lambda data: actions.add_product(request.actor, **data),
            lambda product: f"Product {product.name} (NDC {product.ndc}) added.",
        )
    if done:
        return redirect(request.get_full_path())
    return render(
        request,
        "inventory/setup.html",
        {
            "registration": registration,
            "locations": registration.locations.order_by("name") if registration else [],
            "products": Product.objects.order_by("name"),
            "forms": forms,
        },
    )


# --- links ------------------------------------------------------------------------------------


def _with_registration(name: str, registration: Registration) -> str:
    return f"{reverse(name)}?registration={registration.pk}"


def _ledger_url(registration: Registration) -> str:
    return _with_registration("inventory-ledger", registration)
