"""The forms of the dosing day. They parse, and hold a typed vital sign or score to its
plausible range as the action does; every clinical decision and hard stop is in
``treatments.actions``, which refuses with a message the page shows next to the form."""

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from ketacare.accounts.forms import authenticator_code_field
from ketacare.bounds import BoundedDecimalField, IdField
from ketacare.clinical.protocols.library import Protocol
from ketacare.clinical.session import plausible_ranges
from ketacare.inventory.models import StockBalance
from ketacare.treatments.actions import Checklist, Supply, route_check_in, serious_criteria_labels
from ketacare.treatments.models import AdverseEvent, DoseStep, Observation
from ketacare.treatments.rems_actions import REFERENCE_MAX
from ketacare.web.widgets import current_password_input, decimal_input, text_area

PASSWORD_WIDGET = current_password_input()


def form_errors(form: forms.Form) -> str:
    """An invalid form's errors as one message, each after its field's label."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        text = " ".join(str(e) for e in errors)
        parts.append(f"{label}: {text}" if label else text)
    return "Not saved. " + "; ".join(parts)


def _password() -> forms.CharField:
    return forms.CharField(label="Your password", widget=PASSWORD_WIDGET)


class OpenSessionForm(forms.Form):
    planned = IdField()
    chair = forms.CharField(label="Chair or room", max_length=40)


class CheckInForm(forms.Form):
    fasting_as_instructed = forms.BooleanField(label="Fasted as instructed", required=False)
    escort_arranged = forms.BooleanField(
        label="A responsible adult will take the patient home", required=False
    )
    pregnancy_test = forms.ChoiceField(
        label="Pregnancy test",
        choices=[
            ("", "—"),
            ("not_applicable", "Not applicable"),
            ("negative", "Negative"),
            ("positive", "Positive"),
        ],
        error_messages={"required": "Record the pregnancy test (or not applicable)."},
    )
    questionnaires_done = forms.BooleanField(label="Today's questionnaires done", required=False)

    def __init__(self, *args: Any, protocol: Protocol, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fasting_as_instructed"].help_text = protocol.pre_dose_instructions[0]
        if protocol.monitoring.get("responsible_adult_at_discharge"):
            return
        rules = route_check_in(protocol)
        if rules.get("transport_home_required"):
            # The same box: how the patient gets home safely, as this route requires it.
            self.fields[
                "escort_arranged"
            ].label = "Transport home arranged: the patient will not drive today"
            self.fields["escort_arranged"].help_text = rules["transport_source"]
        else:
            self.fields["escort_arranged"].help_text = "Not required by this protocol."

    def checklist(self) -> Checklist:
        data = self.cleaned_data
        return Checklist(
            fasting_as_instructed=data["fasting_as_instructed"],
            escort_arranged=data["escort_arranged"],
            pregnancy_test=data["pregnancy_test"],
            questionnaires_done=data["questionnaires_done"],
        )


def _vital(name: str, label: str, autofocus: bool = False) -> forms.IntegerField:
    """A flowsheet value, within the range ``plausibility_problems`` holds it to (the data
    files' bounds and scales): one source, so the form and the action never disagree."""
    low, high = plausible_ranges()[name]
    attrs = {
        "inputmode": "numeric",
        "pattern": "[0-9]*",
        "autocomplete": "off",
        "class": "vital",
    }
    if autofocus:
        attrs["autofocus"] = "autofocus"
    outside = f"Implausible value: outside {low}–{high}."
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=low,
        max_value=high,
        widget=forms.TextInput(attrs=attrs),
        error_messages={"min_value": outside, "max_value": outside},
    )


def _scale(name: str, short_name: str) -> str:
    low, high = plausible_ranges()[name]
    return f"{short_name} ({low}–{high})"


class ObservationForm(forms.Form):
    """One row of the flowsheet. Thresholds are the action's to judge; the form holds each
    value to its plausible range, as the action does."""

    systolic = _vital("systolic", "Systolic (mmHg)", autofocus=True)
    diastolic = _vital("diastolic", "Diastolic (mmHg)")
    heart_rate = _vital("heart_rate", "Heart rate (/min)")
    spo2 = _vital("spo2", "SpO₂ (%)")
    respiratory_rate = _vital("respiratory_rate", "Resp. rate (/min)")
    moaas = _vital("moaas", _scale("moaas", "MOAA/S"))
    cadss = _vital("cadss", _scale("cadss", "CADSS"))

    def __init__(self, *args: Any, last: Observation | None = None, **kwargs: Any) -> None:
        # Empty fields, the last row's values beside them: a value is saved only when someone
        # measured it, never because it was left standing from the last row.
        super().__init__(*args, **kwargs)
        if last is not None:
            at = f"{timezone.localtime(last.taken_at):%H:%M}"
            for name, field in self.fields.items():
                value = getattr(last, name)
                if value is not None:
                    field.help_text = f"Last {value} at {at}"

    def values(self) -> dict[str, int | None]:
        return {name: self.cleaned_data.get(name) for name in self.fields}


class GateOverrideForm(forms.Form):
    reason = forms.CharField(
        label="Benefit/risk reason for dosing despite the gate",
        widget=text_area(3),
        error_messages={"required": "Write the benefit/risk reason for dosing despite the gate."},
    )
    password = _password()
    code = authenticator_code_field()


def supply_rows(clinic: Any, drug: str) -> list[StockBalance]:
    """The clinic's lots of ``drug`` in stock, by place, first to expire first."""
    return list(
        StockBalance.objects.filter(
            lot__registration__clinic=clinic,
            lot__product__drug=drug,
            quantity_units__gt=0,
        )
        .select_related("lot__product", "location")
        .order_by("lot__expires_on", "lot__lot_number", "location__name")
    )


def _supply_key(row: StockBalance) -> str:
    return f"{row.lot_id}:{row.location_id}"


class StartDoseForm(forms.Form):
    """Where the dose comes from, and (a prescriber only: the page shows those fields to
    prescribers, the action refuses anyone else) a dose other than the plan's."""

    supply = forms.ChoiceField(label="Lot and storage")
    units = BoundedDecimalField(
        label="Quantity dispensed", min_value=Decimal("0.01"), decimal_places=2, max_digits=9
    )
    dose_mg = BoundedDecimalField(
        label="Dose (mg), if different from the plan",
        required=False,
        min_value=Decimal("0.01"),
        decimal_places=2,
        max_digits=7,
    )
    change_reason = forms.CharField(
        label="Reason for the changed dose",
        required=False,
        widget=text_area(),
    )

    def __init__(self, *args: Any, rows: list[StockBalance], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = {_supply_key(row): row for row in rows}
        supply = self.fields["supply"]
        assert isinstance(supply, forms.ChoiceField)
        supply.choices = [("", "—")] + [
            (
                key,
                f"{row.lot.product.name}, lot {row.lot.lot_number} (exp. "
                f"{row.lot.expires_on:%Y-%m-%d}) · {row.location.name} · "
                f"{row.quantity_units.normalize():f} {row.lot.product.unit} in stock",
            )
            for key, row in self.rows.items()
        ]
        units = sorted({row.lot.product.unit for row in rows})
        if units:
            self.fields["units"].label = f"Quantity dispensed ({' or '.join(units)})"

    def supply_of(self) -> Supply:
        row = self.rows[self.cleaned_data["supply"]]
        return Supply(
            row.lot.registration_id, row.lot_id, row.location_id, self.cleaned_data["units"]
        )


class PumpForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            (DoseStep.Kind.PAUSE, "Pause"),
            (DoseStep.Kind.RESUME, "Resume"),
            (DoseStep.Kind.RATE_CHANGE, "Change rate"),
            (DoseStep.Kind.INFUSION_END, "End infusion"),
        ]
    )
    rate_ml_per_h = BoundedDecimalField(
        label="New rate (mL/h)",
        required=False,
        min_value=Decimal("0.1"),
        decimal_places=1,
        max_digits=6,
        widget=decimal_input(),
    )
    note = forms.CharField(label="Note", required=False, max_length=200)


class AdverseEventForm(forms.Form):
    kind = forms.ChoiceField(label="Adverse event", choices=[("", "—"), *AdverseEvent.Kind.choices])
    severity = forms.ChoiceField(
        label="Severity", choices=[("", "—"), *AdverseEvent.Severity.choices]
    )
    description = forms.CharField(label="Description", required=False, max_length=300)
    intervention = forms.CharField(label="Intervention", required=False, max_length=300)
    serious_criteria = forms.MultipleChoiceField(
        label="Serious (regulatory meaning, not intensity): tick every criterion met",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=list(serious_criteria_labels().items()),
        help_text="ICH E2A / 21 CFR 312.32: none ticked means not serious, however severe.",
    )


class TransferForm(forms.Form):
    destination = forms.CharField(
        label="Transferred to", max_length=200, initial="Emergency department"
    )
    reason = forms.CharField(label="Why", widget=text_area(), max_length=2000)
    decided_by = forms.TypedChoiceField(label="Who decided", coerce=int)
    password = _password()
    code = authenticator_code_field()

    def __init__(self, *args: Any, staff: list[Any], decided_by: int | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        who = self.fields["decided_by"]
        assert isinstance(who, forms.ChoiceField)
        who.choices = [("", "—")] + [
            (user.pk, user.get_full_name() or user.get_username()) for user in staff
        ]
        self.fields["decided_by"].initial = decided_by


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        label="What was done",
        widget=text_area(),
        error_messages={"required": "Write what was done about the alert."},
    )


class DischargeForm(forms.Form):
    dissociation_resolved = forms.BooleanField(label="Dissociation resolved", required=False)
    responsible_adult_present = forms.BooleanField(
        label="A responsible adult is here to take the patient home", required=False
    )
    password = _password()
    code = authenticator_code_field()

    def __init__(self, *args: Any, protocol: Protocol, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not protocol.monitoring.get("responsible_adult_at_discharge"):
            self.fields["responsible_adult_present"].help_text = "Not required by this protocol."


class RemsSubmissionForm(forms.Form):
    """The confirmation the REMS portal gave for a submitted Patient Monitoring Form."""

    reference = forms.CharField(
        label="REMS portal confirmation reference",
        max_length=REFERENCE_MAX,
        help_text="Submit the form on the REMS portal first, then type the reference it gave.",
    )
