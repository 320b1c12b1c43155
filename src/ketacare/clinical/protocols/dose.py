"""From a prescription to what is drawn up: mg, mL of the vial in stock, pump rate or devices.

Every refusal is a DoseRefused naming its rule; nothing is rounded past a limit. Decimal
arithmetic, because a dose is rounded to what a syringe can measure.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from ketacare.clinical.datafiles import load
from ketacare.clinical.protocols.library import Protocol

INCH_CM = Decimal("2.54")


class DoseRefused(ValueError):
    """A hard limit refused the dose. ``rule`` names the limit; the message explains it."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{message} [rule: {rule}]")
        self.rule = rule


@dataclass(frozen=True)
class DoseOrder:
    protocol_id: str
    protocol_version: str
    dose_mg: Decimal
    weight_used_kg: Decimal | None
    weight_basis: str
    volume_ml: Decimal | None = None
    vial_mg_per_ml: Decimal | None = None
    infusion_minutes: int | None = None
    rate_ml_per_h: Decimal | None = None
    devices: int | None = None


def _policy() -> dict[str, object]:
    return load("dose_policy")


def ideal_body_weight_kg(height_cm: Decimal, sex: str) -> Decimal:
    """Devine's ideal body weight, with its constants from ``dose_policy.toml``."""
    devine = load("dose_policy")["ideal_body_weight"]
    inches_over_five_feet = max(Decimal(0), height_cm / INCH_CM - 60)
    base = devine["male_base_kg"] if sex == "male" else devine["female_base_kg"]
    return Decimal(str(base)) + Decimal(str(devine["kg_per_inch_over_60"])) * inches_over_five_feet


def _weight(
    weight_kg: Decimal,
    measured_on: date,
    today: date,
    height_cm: Decimal | None,
    sex: str | None,
    use_adjusted_weight: bool,
) -> tuple[Decimal, str]:
    policy = _policy()
    max_age = int(str(policy["weight_max_age_days"]))
    age = (today - measured_on).days
    if age > max_age:
        raise DoseRefused(
            "weight_too_old",
            f"The latest weight is {age} days old; dosing needs one from the last {max_age} "
            "days. Weigh the patient.",
        )
    if not use_adjusted_weight:
        return weight_kg, "actual weight"
    if height_cm is None or sex not in ("female", "male"):
        raise DoseRefused(
            "adjusted_weight_needs_height_and_sex",
            "Adjusted body weight needs a height and a sex (female or male) on record.",
        )
    metres = height_cm / 100
    bmi = weight_kg / (metres * metres)
    threshold = Decimal(str(policy["adjusted_weight_bmi_threshold"]))
    if bmi < threshold:
        return weight_kg, f"actual weight (BMI {bmi:.1f} is under the clinic's {threshold})"
    ideal = ideal_body_weight_kg(height_cm, sex)
    fraction = Decimal(str(policy["adjusted_weight_fraction"]))
    adjusted = (ideal + fraction * (weight_kg - ideal)).quantize(Decimal("0.1"))
    return adjusted, f"adjusted body weight (BMI {bmi:.1f}; ideal {ideal:.1f} kg)"


def calculate_dose(
    protocol: Protocol,
    *,
    mg_per_kg: Decimal | None = None,
    fixed_mg: Decimal | None = None,
    weight_kg: Decimal | None = None,
    weight_measured_on: date | None = None,
    today: date | None = None,
    height_cm: Decimal | None = None,
    sex: str | None = None,
    use_adjusted_weight: bool = False,
    vial_mg_per_ml: Decimal | None = None,
    infusion_minutes: int | None = None,
) -> DoseOrder:
    """The order for one administration under ``protocol``, or DoseRefused."""
    if not protocol.weight_based:
        return _fixed_dose(protocol, fixed_mg)
    if mg_per_kg is None or weight_kg is None or weight_measured_on is None or today is None:
        raise DoseRefused("missing_input", "A mg/kg dose, a weight and its date are required.")
    check_mg_per_kg(protocol, mg_per_kg)
    weight, basis = _weight(
        weight_kg, weight_measured_on, today, height_cm, sex, use_adjusted_weight
    )
    prescribed = mg_per_kg * weight
    if vial_mg_per_ml is None or vial_mg_per_ml <= 0:
        raise DoseRefused("vial_needed", "Choose the vial concentration in stock (mg/mL).")
    step = Decimal(str(_policy()["volume_step_ml"]))
    # Round the volume to what a syringe measures, never upwards past the prescription.
    volume = (prescribed / vial_mg_per_ml / step).quantize(
        Decimal(1), rounding="ROUND_FLOOR"
    ) * step
    dose = (volume * vial_mg_per_ml).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if volume <= 0:
        raise DoseRefused(
            "below_measurable_volume",
            f"{prescribed:.1f} mg is less than {step} mL of a {vial_mg_per_ml} mg/mL vial.",
        )
    loss = (prescribed - dose) / prescribed * 100
    max_loss = Decimal(str(_policy()["max_rounding_loss_percent"]))
    if loss > max_loss:
        raise DoseRefused(
            "rounding_loss",
            f"{prescribed:.1f} mg rounds down to {dose} mg ({volume} mL of {vial_mg_per_ml} "
            f"mg/mL), {loss:.1f} % less than prescribed (the clinic allows {max_loss} %). "
            "Choose a more dilute vial.",
        )
    _check_absolute_max(protocol, dose)
    rate = None
    if protocol.route == "iv":
        allowed = protocol.raw.get("infusion_minutes", [])
        if infusion_minutes is None or infusion_minutes not in allowed:
            raise DoseRefused(
                "infusion_length",
                f"Choose an infusion length of {' or '.join(map(str, allowed))} minutes.",
            )
        bag = Decimal(str(_policy()["bag_volume_ml"]))
        rate = ((bag + volume) * 60 / infusion_minutes).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return DoseOrder(
        protocol.id,
        protocol.version,
        dose,
        weight,
        basis,
        volume_ml=volume,
        vial_mg_per_ml=vial_mg_per_ml,
        infusion_minutes=infusion_minutes if protocol.route == "iv" else None,
        rate_ml_per_h=rate,
    )


def _fixed_dose(protocol: Protocol, fixed_mg: Decimal | None) -> DoseOrder:
    if fixed_mg is None:
        raise DoseRefused("missing_input", f"{protocol.name}: choose a dose.")
    _check_fixed(protocol, fixed_mg)
    per_device = Decimal(str(protocol.raw["mg_per_device"]))
    return DoseOrder(
        protocol.id,
        protocol.version,
        fixed_mg,
        None,
        "fixed dose (not weight-based)",
        devices=int(fixed_mg / per_device),
    )


def check_dose(protocol: Protocol, dose_mg: Decimal, weight_kg: Decimal | None) -> None:
    """The hard limits on a dose in mg under ``protocol``; DoseRefused names the one broken.

    The same limits as :func:`calculate_dose` applies to a prescription, so a dose changed at
    the bedside can go no further than a planned one: a fixed-dose protocol's allowed doses in
    whole devices; a weight-based protocol's mg/kg ceiling on ``weight_kg`` (the plan's dosing
    weight), never the anaesthetic range, and its absolute cap."""
    if not dose_mg.is_finite() or dose_mg <= 0:
        raise DoseRefused("dose_not_positive", f"The dose must be above 0 mg, got {dose_mg}.")
    if not protocol.weight_based:
        _check_fixed(protocol, dose_mg)
        return
    if weight_kg is None or weight_kg <= 0:
        raise DoseRefused("missing_input", "A weight-based dose needs the plan's dosing weight.")
    check_mg_per_kg(protocol, dose_mg / weight_kg, f"{dose_mg} mg for {weight_kg} kg")
    _check_absolute_max(protocol, dose_mg)


def check_mg_per_kg(protocol: Protocol, mg_per_kg: Decimal, what: str = "") -> None:
    """A weight-based dose is above 0, outside the anaesthetic range and within the protocol's
    mg/kg maximum. ``what`` names the dose in mg when the mg/kg was derived from it."""
    limits = protocol.limits
    shown = f"{what} ({mg_per_kg:.3f} mg/kg)" if what else f"{mg_per_kg} mg/kg"
    if mg_per_kg <= 0:
        raise DoseRefused("dose_not_positive", "The dose must be above 0 mg/kg.")
    anaesthetic = Decimal(str(limits["anaesthetic_from_mg_per_kg"]))
    in_anaesthetic_range = (
        mg_per_kg >= anaesthetic if limits.get("anaesthetic_inclusive") else mg_per_kg > anaesthetic
    )
    if in_anaesthetic_range:
        raise DoseRefused(
            "anaesthetic_range",
            f"{shown} {protocol.route.upper()} is in the anaesthetic range "
            f"({limits['anaesthetic_source']}).",
        )
    maximum = Decimal(str(protocol.raw["max_mg_per_kg"]))
    if mg_per_kg > maximum:
        raise DoseRefused(
            "above_protocol_max_mg_per_kg",
            f"{shown} is above this protocol's maximum of {maximum} mg/kg.",
        )


def _check_absolute_max(protocol: Protocol, dose_mg: Decimal) -> None:
    limits = protocol.limits
    maximum_mg = Decimal(str(limits["max_absolute_mg"]))
    if dose_mg > maximum_mg:
        raise DoseRefused(
            "above_absolute_max_mg",
            f"{dose_mg} mg is above this protocol's absolute maximum of {maximum_mg} mg "
            f"({limits['max_absolute_source']}).",
        )


def _check_fixed(protocol: Protocol, dose_mg: Decimal) -> None:
    raw = protocol.raw
    per_device = Decimal(str(raw["mg_per_device"]))
    if dose_mg % per_device != 0:
        raise DoseRefused(
            "whole_devices",
            f"{dose_mg} mg is not a whole number of {per_device} mg devices.",
        )
    allowed = [Decimal(str(d)) for d in raw["allowed_doses_mg"]]
    if dose_mg not in allowed:
        raise DoseRefused(
            "dose_not_in_label",
            f"{protocol.name}: the dose must be one of {', '.join(f'{d} mg' for d in allowed)}.",
        )
    _check_absolute_max(protocol, dose_mg)
