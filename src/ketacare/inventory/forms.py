"""Forms of the controlled-substance pages. They parse input and offer the choices of one
registration; every rule about stock is the actions' (a refusal comes back as a StockError and
is shown on the form)."""

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from ketacare.accounts.forms import authenticator_code_field
from ketacare.bounds import BoundedDateField, BoundedDecimalField
from ketacare.inventory.actions import LOSS_FIELDS, Counted, Signature
from ketacare.inventory.models import (
    Discrepancy,
    Location,
    PhysicalCount,
    Product,
    Registration,
    StockBalance,
)
from ketacare.patients.models import Patient
from ketacare.patients.mrn import is_valid_mrn
from ketacare.web.widgets import (
    DateInput,
    decimal_input,
    new_password_input,
    numeric_input,
    text_area,
)

LOSS_TYPES = [
    ("", "—"),
    ("theft", "Theft"),
    ("employee_pilferage", "Employee pilferage"),
    ("lost_in_transit", "Lost in transit"),
    ("other", "Other"),
]
YES_NO = [("", "—"), ("yes", "Yes"), ("no", "No")]


def _signature_input() -> dict[str, forms.Widget]:
    # Another person types their credentials on this session's screen: keep the browser from
    # offering the signed-in user's saved password ("new-password" is the value browsers honour).
    return {
        "username": forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
        "password": new_password_input(),
    }


def add_witness_fields(form: forms.Form, required: bool) -> None:
    """Username, password and authenticator code of a witness who signs on this screen."""
    needed = {"required": "The witness must sign with their username and password."}
    form.fields["witness_username"] = forms.CharField(
        label="Witness's username",
        max_length=150,
        required=required,
        widget=_signature_input()["username"],
        error_messages=needed,
    )
    form.fields["witness_password"] = forms.CharField(
        label="Witness's password",
        strip=False,
        required=required,
        widget=_signature_input()["password"],
        error_messages=needed,
    )
    form.fields["witness_code"] = authenticator_code_field(
        "Witness's authenticator code", someone_else=True
    )


def witness_signature(data: dict[str, Any]) -> Signature | None:
    """The witness's signature as the form got it; None when no field was filled in."""
    username, password = data.get("witness_username", ""), data.get("witness_password", "")
    if not username and not password:
        return None
    return Signature(username, password, data.get("witness_code", ""))


def quantity_field(label: str = "Quantity", help_text: str = "") -> forms.CharField:
    # Text, not a DecimalField: the action's own check gives the message (zero, negative,
    # more than two decimals), so the page and any other caller say the same thing.
    return forms.CharField(
        label=label,
        max_length=20,
        help_text=help_text,
        widget=decimal_input(),
        error_messages={"required": f"Enter the {label.lower()}."},
    )


def stock_label(balance: StockBalance, today: date) -> str:
    lot, product = balance.lot, balance.lot.product
    units = balance.quantity_units
    expired = " — EXPIRED" if lot.expires_on < today else ""
    return (
        f"{product.name}, lot {lot.lot_number} (exp. {lot.expires_on:%Y-%m-%d}) at "
        f"{balance.location.name}: {units} {product.unit} ({product.mg(units)} mg){expired}"
    )


def _lot_and_location(value: str) -> tuple[int, int]:
    lot_id, location_id = value.split(":")
    return int(lot_id), int(location_id)


class StockField(forms.TypedChoiceField):
    """One choice per lot at a location with stock; cleans to (lot id, location id)."""

    def __init__(self, balances: list[StockBalance], **kwargs: Any) -> None:
        today = timezone.localdate()
        choices = [("", "—")] + [
            (f"{b.lot_id}:{b.location_id}", stock_label(b, today)) for b in balances
        ]
        kwargs.setdefault("label", "Lot and location")
        kwargs.setdefault("error_messages", {"required": "Choose the lot and where it is stored."})
        super().__init__(choices=choices, coerce=_lot_and_location, **kwargs)


class GroupedForm(forms.Form):
    """A form whose fields are shown in groups: ``groups`` names the fields of each titled
    group; fields not named are shown first, without a title."""

    groups: list[tuple[str, list[str]]] = []

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        grouped = {name for _, names in self.groups for name in names}
        first = [self[name] for name in self.fields if name not in grouped]
        rest = [
            (legend, [self[name] for name in names if name in self.fields])
            for legend, names in self.groups
        ]
        return [("", first), *[(legend, fields) for legend, fields in rest if fields]]


def add_loss_fields(form: forms.Form, required: bool) -> None:
    """The facts a DEA Form 106 asks for (``actions.LOSS_FIELDS``)."""
    texts = LOSS_FIELDS

    def needed(key: str) -> dict[str, str]:
        return {"required": f"A loss report needs {texts[key]}."}

    form.fields["discovered_on"] = BoundedDateField(
        label="Discovered on",
        required=required,
        widget=DateInput(),
        error_messages=needed("discovered_on"),
    )
    form.fields["loss_type"] = forms.ChoiceField(
        label="Type of loss",
        choices=LOSS_TYPES,
        required=required,
        error_messages=needed("loss_type"),
    )
    form.fields["description"] = forms.CharField(
        label="What happened",
        required=required,
        widget=text_area(3),
        error_messages=needed("description"),
    )
    form.fields["police_notified"] = forms.ChoiceField(
        label="Police notified",
        choices=YES_NO,
        required=required,
        error_messages=needed("police_notified"),
    )


def loss_details(data: dict[str, Any]) -> dict[str, str]:
    def text(value: Any) -> str:
        if value is None:
            return ""
        return value.isoformat() if isinstance(value, date) else str(value)

    return {key: text(data.get(key)) for key in LOSS_FIELDS}


# --- movements --------------------------------------------------------------------------------


class ReceiveForm(forms.Form):
    def __init__(self, *args: Any, registration: Registration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"] = forms.ModelChoiceField(
            Product.objects.order_by("name"), label="Product", empty_label="—"
        )
        self.fields["lot_number"] = forms.CharField(
            label="Lot number",
            max_length=40,
            error_messages={"required": "Write the lot number from the package."},
        )
        self.fields["expires_on"] = BoundedDateField(label="Expires on", widget=DateInput())
        self.fields["location"] = forms.ModelChoiceField(
            registration.locations.order_by("name"), label="Stored in", empty_label="—"
        )
        self.fields["quantity"] = quantity_field(
            help_text="In the product's unit: mL of solution for vials, devices for nasal sprays."
        )
        self.fields["supplier"] = forms.CharField(
            label="Supplier", max_length=200, error_messages={"required": "Name the supplier."}
        )
        self.fields["invoice"] = forms.CharField(
            label="Invoice or DEA Form 222 number",
            max_length=100,
            error_messages={"required": "Write the invoice (or DEA Form 222) number."},
        )


class DispenseForm(GroupedForm):
    groups = [
        (
            "Expired lot only: prescriber's override",
            ["override_username", "override_password", "override_code", "override_reason"],
        )
    ]

    def __init__(
        self,
        *args: Any,
        balances: list[StockBalance],
        clinic: Any,
        any_expired: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["stock"] = StockField(balances)
        self.fields["quantity"] = quantity_field(help_text="Units taken out (mL or devices).")
        self.fields["patient_mrn"] = forms.CharField(
            label="Patient MRN",
            max_length=20,
            widget=numeric_input(),
            error_messages={"required": "Enter the patient's MRN."},
        )
        self.fields["dose_mg"] = quantity_field(
            "Dose (mg)", help_text="The dose to be given; the rest is wasted before a witness."
        )
        if any_expired:
            signature = _signature_input()
            self.fields["override_username"] = forms.CharField(
                label="Prescriber's username",
                required=False,
                max_length=150,
                widget=signature["username"],
            )
            self.fields["override_password"] = forms.CharField(
                label="Prescriber's password",
                required=False,
                strip=False,
                widget=signature["password"],
            )
            self.fields["override_code"] = authenticator_code_field(
                "Prescriber's authenticator code", someone_else=True
            )
            self.fields["override_reason"] = forms.CharField(
                label="Reason for dispensing an expired lot", required=False, widget=text_area()
            )

    def clean_patient_mrn(self) -> Patient:
        mrn = "".join(self.cleaned_data["patient_mrn"].split()).replace("-", "")
        if not is_valid_mrn(mrn):
            raise forms.ValidationError(f"{mrn} is not a valid MRN (check digit): is it mistyped?")
        patient = Patient.objects.filter(clinic=self.clinic, mrn=mrn).first()
        if patient is None:
            raise forms.ValidationError(f"No patient with MRN {mrn} at this clinic.")
        return patient


class WasteForm(forms.Form):
    def __init__(self, *args: Any, unit: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Asked in the product's own unit, which the page's "left to waste" also gives.
        self.fields["quantity"] = quantity_field(f"Quantity wasted ({unit})")
        self.order_fields(["quantity"])

        add_witness_fields(self, required=True)

    reason = forms.CharField(
        label="How and why it was wasted",
        widget=text_area(),
        error_messages={"required": "Write how and why it was wasted."},
    )


class TransferForm(forms.Form):
    def __init__(
        self, *args: Any, registration: Registration, balances: list[StockBalance], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stock"] = StockField(balances, label="Lot and location it leaves")
        self.fields["to_location"] = forms.ModelChoiceField(
            registration.locations.order_by("name"), label="Moved to", empty_label="—"
        )
        self.fields["quantity"] = quantity_field()


class ReturnForm(forms.Form):
    def __init__(self, *args: Any, balances: list[StockBalance], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stock"] = StockField(balances)
        self.fields["quantity"] = quantity_field()
        self.fields["supplier"] = forms.CharField(
            label="Supplier or reverse distributor",
            max_length=200,
            error_messages={
                "required": "Name the supplier or reverse distributor the stock goes to."
            },
        )
        self.fields["reference"] = forms.CharField(
            label="Supplier's reference",
            max_length=100,
            help_text="The return authorisation or invoice number the supplier gave.",
            error_messages={
                "required": "Give the supplier's reference for the return (return "
                "authorisation or invoice)."
            },
        )
        self.fields["reason"] = forms.CharField(
            label="Reason", required=False, widget=text_area(), help_text="E.g. expired, recalled."
        )


class LossForm(forms.Form):
    def __init__(self, *args: Any, balances: list[StockBalance], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stock"] = StockField(balances)
        self.fields["quantity"] = quantity_field()
        add_loss_fields(self, required=True)


class ReverseForm(forms.Form):
    """The reason, and a witness's signature where the entry's reversal needs one (the action
    decides: ``actions.reversal_needs_witness``)."""

    reason = forms.CharField(
        label="Why the entry is reversed",
        widget=text_area(),
        error_messages={"required": "Write why the entry is reversed."},
    )

    def __init__(self, *args: Any, needs_witness: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if needs_witness:
            add_witness_fields(self, required=True)


# --- counts -----------------------------------------------------------------------------------


class CountForm(forms.Form):
    """One counted quantity per lot × location of the book (``rows``), left blank for the
    counter to fill in: a count is what was seen, never the book copied."""

    def __init__(
        self, *args: Any, rows: list[StockBalance], first: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"] = forms.ChoiceField(
            label="Kind of count",
            choices=PhysicalCount.Kind.choices,
            # A registration's first count is its initial inventory.
            initial=PhysicalCount.Kind.INITIAL if first else PhysicalCount.Kind.AD_HOC,
        )
        self.rows = [(row, f"counted_{row.lot_id}_{row.location_id}") for row in rows]
        for row, name in self.rows:
            self.fields[name] = BoundedDecimalField(
                label=f"Counted ({row.lot.product.unit})",
                min_value=Decimal(0),
                max_digits=9,
                decimal_places=2,
                widget=decimal_input(),
                error_messages={"required": "Enter what was counted (0 if none)."},
            )
        self.fields["note"] = forms.CharField(label="Note", required=False, widget=text_area())

    def lines(self) -> list[tuple[StockBalance, forms.BoundField]]:
        return [(row, self[name]) for row, name in self.rows]

    def counted(self) -> list[Counted]:
        return [
            Counted(row.lot_id, row.location_id, self.cleaned_data[name]) for row, name in self.rows
        ]


class ResolveForm(GroupedForm):
    groups = [
        (
            "When reported as a loss: the DEA Form 106 facts",
            ["discovered_on", "loss_type", "description", "police_notified"],
        )
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["resolution"] = forms.ChoiceField(
            label="Resolution",
            choices=Discrepancy.Resolution.choices,
            widget=forms.RadioSelect,
            error_messages={"required": "Choose how the discrepancy is resolved."},
        )
        self.fields["note"] = forms.CharField(
            label="What was found",
            widget=text_area(3),
            error_messages={"required": "Write what was found."},
        )
        add_loss_fields(self, required=False)


# --- set-up -----------------------------------------------------------------------------------


class RegistrationForm(forms.Form):
    dea_number = forms.CharField(label="DEA number", max_length=9)
    name = forms.CharField(
        label="Registrant name", max_length=200, help_text="As on the DEA certificate."
    )
    address = forms.CharField(label="Registered address", required=False, widget=text_area())


class LocationForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    kind = forms.ChoiceField(label="Kind", choices=Location.Kind.choices)


class ProductForm(forms.Form):
    ndc = forms.CharField(label="NDC", max_length=13)
    name = forms.CharField(label="Name", max_length=200)
    drug = forms.ChoiceField(label="Drug", choices=Product.Drug.choices)
    form = forms.ChoiceField(label="Form", choices=Product.Form.choices)
    unit = forms.CharField(
        label="Unit", max_length=10, help_text="mL for a vial, device for a spray."
    )
    mg_per_unit = BoundedDecimalField(
        label="mg per unit", max_digits=7, decimal_places=2, min_value=Decimal("0.01")
    )
    units_per_package = BoundedDecimalField(
        label="Units per package", max_digits=7, decimal_places=2, min_value=Decimal("0.01")
    )
