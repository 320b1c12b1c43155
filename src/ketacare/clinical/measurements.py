"""Checks and derived values for body measurements (weight is needed for dosing)."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ketacare.clinical.datafiles import load


@dataclass(frozen=True)
class Bounds:
    low: Decimal
    high: Decimal
    source: str

    def check(self, value: Decimal, what: str, unit: str) -> str | None:
        """A message if ``value`` is outside the bounds, else None."""
        if value < self.low or value > self.high:
            return (
                f"{what} {value} {unit} is outside the plausible range {self.low}–{self.high} "
                f"{unit}. Check the units ({self.source})."
            )
        return None


def _bounds(key: str) -> Bounds:
    data = load("body_measurements")
    return Bounds(Decimal(str(data[key]["min"])), Decimal(str(data[key]["max"])), data["source"])


def weight_problem(weight_kg: Decimal) -> str | None:
    """Why this weight cannot be right, or None if it is plausible."""
    return _bounds("weight_kg").check(weight_kg, "Weight", "kg")


def height_problem(height_cm: Decimal) -> str | None:
    """Why this height cannot be right, or None if it is plausible."""
    return _bounds("height_cm").check(height_cm, "Height", "cm")


def date_of_birth_problem(dob: date, today: date) -> str | None:
    """Why this date of birth cannot be right (in the future, or implausibly long ago)."""
    if dob > today:
        return "Date of birth is in the future."
    max_age = int(load("body_measurements")["age_years"]["max"])
    if age_in_years(dob, today) > max_age:
        return f"Date of birth gives an age over {max_age} years; check the year."
    return None


def age_in_years(dob: date, today: date) -> int:
    """Completed years of age on ``today``."""
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def body_mass_index(weight_kg: Decimal, height_cm: Decimal) -> Decimal:
    """BMI in kg/m², to one decimal place."""
    metres = height_cm / Decimal(100)
    return (weight_kg / (metres * metres)).quantize(Decimal("0.1"))
