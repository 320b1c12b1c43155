from decimal import Decimal
from typing import Any

from django import forms

from ketacare.accounts.forms import authenticator_code_field
from ketacare.bounds import BoundedDateField, BoundedDecimalField, BoundedIntegerField
from ketacare.clinical.datafiles import load
from ketacare.clinical.eligibility import FieldSpec, field_specs
from ketacare.clinical.protocols.library import Protocol
from ketacare.planning.answers import CHOICE_LABELS, LABELS, entered_paths, section_of
from ketacare.web.widgets import DateInput, current_password_input, text_area

UNANSWERED = ("", "—")
NOT_DONE = ("not_done", "Not done")
_SMALL_RANGE = 20  # an integer with at most this many values is offered as a list


def field_name(path: str) -> str:
    return path.replace(".", "__")


def _field(spec: FieldSpec) -> forms.Field:
    label = LABELS[spec.path]
    if spec.kind == "bool" and spec.nullable:
        choices = [UNANSWERED, ("positive", "Positive"), ("negative", "Negative"), NOT_DONE]
        return forms.ChoiceField(label=label, choices=choices, required=False)
    if spec.kind == "bool":
        return forms.ChoiceField(
            label=label,
            choices=[("yes", "Yes"), ("no", "No")],
            required=False,
            widget=forms.RadioSelect(attrs={"class": "yes-no"}),
        )
    if spec.kind == "int" and spec.nullable:
        assert spec.low is not None and spec.high is not None
        assert spec.high - spec.low <= _SMALL_RANGE
        numbers = [(str(n), str(n)) for n in range(spec.low, spec.high + 1)]
        return forms.ChoiceField(
            label=label, choices=[UNANSWERED, NOT_DONE, *numbers], required=False
        )
    if spec.kind == "int":
        return BoundedIntegerField(
            label=label, required=False, min_value=spec.low, max_value=spec.high
        )
    if spec.kind == "choice":
        choices = [UNANSWERED, *((c, CHOICE_LABELS.get(c, c)) for c in spec.choices)]
        if spec.nullable:
            choices.append(NOT_DONE)
        return forms.ChoiceField(label=label, choices=choices, required=False)
    return forms.CharField(label=label, required=False, max_length=300)


def _to_value(spec: FieldSpec, raw: Any) -> tuple[bool, Any]:
    """(answered?, value in the layout's type) from a cleaned form value."""
    if spec.kind == "text_list":
        return True, [part.strip() for part in (raw or "").split(",") if part.strip()]
    if raw in ("", None):
        return False, None
    if raw == "not_done":
        return True, None
    if spec.kind == "bool":
        return True, raw in ("yes", "positive")
    if spec.kind == "int":
        return True, int(raw)
    return True, raw


def _to_initial(spec: FieldSpec, value: Any) -> Any:
    if value is None:
        return "not_done" if spec.nullable else None
    if spec.kind == "bool" and spec.nullable:
        return "positive" if value else "negative"
    if spec.kind == "bool":
        return "yes" if value else "no"
    if spec.kind == "text_list":
        return ", ".join(value)
    if spec.kind == "int" and spec.nullable:
        return str(value)
    return value


class EvaluationForm(forms.Form):
    """Every field of the eligibility layout, in its order; nothing is required while the
    evaluation is in progress (completion checks that all are answered)."""

    def __init__(self, *args: Any, answers: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        specs = field_specs()
        for path in entered_paths():
            self.fields[field_name(path)] = _field(specs[path])
            if answers and path in answers:
                self.initial[field_name(path)] = _to_initial(specs[path], answers[path])
        self.fields["notes"] = forms.CharField(
            label="History and notes",
            required=False,
            widget=text_area(4),
            help_text="Anything the fields above do not hold: history, indication detail, "
            "why urine toxicology was or was not indicated.",
        )

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        from ketacare.planning.answers import SECTIONS

        groups: dict[str, list[forms.BoundField]] = {}
        for path in entered_paths():
            groups.setdefault(section_of(path), []).append(self[field_name(path)])
        return [(SECTIONS[key], fields) for key, fields in groups.items()]

    def answers(self) -> dict[str, Any]:
        """The answered fields as the flat layout: path → value."""
        specs = field_specs()
        result = {}
        for path in entered_paths():
            answered, value = _to_value(specs[path], self.cleaned_data.get(field_name(path)))
            if answered:
                result[path] = value
        return result


class AddendumForm(EvaluationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["notes"]
        self.fields["note"] = forms.CharField(
            label="Addendum",
            widget=text_area(3),
            help_text="What is added or corrected, and why. Changed answers above are "
            "re-checked against the eligibility rules.",
        )


class PasswordConfirmForm(forms.Form):
    """An electronic signature: the signer types their own password again."""

    password = forms.CharField(
        label="Your password",
        widget=current_password_input(),
    )
    code = authenticator_code_field()


class PlanSignForm(PasswordConfirmForm):
    """The plan's signature; without a current treatment consent it asks why the plan is
    signed all the same (``consent_missing``). The action decides whether a reason is needed."""

    consent_reason = forms.CharField(
        label="Reason for signing without a current treatment consent",
        widget=text_area(),
        required=False,
        help_text="Shown on the plan and kept with its signature and in the audit log.",
    )
    field_order = ["consent_reason", "password", "code"]

    def __init__(self, *args: Any, consent_missing: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not consent_missing:
            del self.fields["consent_reason"]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        widget=text_area(),
        error_messages={"required": "Write the reason."},
    )


class OverrideForm(PasswordConfirmForm):
    # CharField strips whitespace, so a blank reason meets the "required" message.
    reason = forms.CharField(
        label="Reason for treating despite the rules",
        widget=text_area(3),
        help_text="Required. Shown wherever the plan is shown and kept in the audit log.",
        error_messages={"required": "Write the reason for the override."},
    )
    field_order = ["reason", "password", "code"]


def vial_choices() -> list[tuple[str, str]]:
    return [(str(v), f"{v} mg/mL") for v in load("dose_policy")["vial_mg_per_ml"]]


class PlanForm(forms.Form):
    """The starting dose and schedule for one protocol; its fields depend on the protocol."""

    def __init__(self, *args: Any, protocol: Protocol, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit = "mg/kg" if protocol.weight_based else "mg"
        self.fields["dose"] = forms.TypedChoiceField(
            label=f"Starting dose ({unit})",
            choices=[(str(d), f"{d} {unit}") for d in protocol.dose_choices],
            coerce=Decimal,
            initial=str(protocol.starting_dose),
        )
        if protocol.weight_based:
            self.fields["vial_mg_per_ml"] = forms.TypedChoiceField(
                label="Vial concentration", choices=vial_choices(), coerce=Decimal
            )
            self.fields["use_adjusted_weight"] = forms.BooleanField(
                label="Use adjusted body weight when BMI is at or above the clinic threshold",
                required=False,
            )
        if protocol.route == "iv":
            self.fields["infusion_minutes"] = forms.TypedChoiceField(
                label="Infusion length",
                choices=[(str(m), f"{m} minutes") for m in protocol.raw["infusion_minutes"]],
                coerce=int,
            )
        self.fields["start_date"] = BoundedDateField(label="First session", widget=DateInput())


class RescheduleForm(forms.Form):
    def __init__(self, *args: Any, sessions: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["number"] = forms.TypedChoiceField(
            label="Session",
            choices=[
                (str(s.number), f"Session {s.number} — {s.date:%a %Y-%m-%d}") for s in sessions
            ],
            coerce=int,
        )
        self.fields["new_date"] = BoundedDateField(label="Move to", widget=DateInput())


class RulePolicyForm(forms.Form):
    """A clinic's setting for one policy rule: on or off, and its thresholds."""

    def __init__(self, *args: Any, rule: Any, file_rule: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.file_rule = file_rule
        self.fields["enabled"] = forms.BooleanField(
            label="Rule in force at this clinic", required=False, initial=rule is not None
        )
        current = rule.thresholds if rule is not None else file_rule.thresholds
        for path, (symbol, value) in file_rule.thresholds.items():
            # Compared with a whole-number field whose plausible range the rules check.
            self.fields[field_name(path)] = BoundedDecimalField(
                max_digits=9,
                decimal_places=2,
                label=f"{LABELS[path]} {symbol}",
                initial=current[path][1],
                help_text=f"Rules file: {symbol} {value}",
            )
        self.fields["reason"] = forms.CharField(
            label="Reason for the change",
            widget=text_area(),
            error_messages={"required": "Write the reason for changing the clinic's rule."},
        )

    def change(self) -> dict[str, Any]:
        """The change as ``load_rules`` takes it; {} when it matches the rules file."""
        if not self.cleaned_data["enabled"]:
            return {"enabled": False}
        thresholds: dict[str, int | float] = {}
        for path, (_, value) in self.file_rule.thresholds.items():
            new = self.cleaned_data[field_name(path)]
            if new != Decimal(str(value)):
                thresholds[path] = int(new) if new == new.to_integral_value() else float(new)
        return {"thresholds": thresholds} if thresholds else {}
