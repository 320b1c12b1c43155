from datetime import date
from decimal import Decimal

from ketacare.clinical.datafiles import load
from ketacare.clinical.measurements import (
    age_in_years,
    body_mass_index,
    date_of_birth_problem,
    height_problem,
    weight_problem,
)


def test_data_file_declares_version_and_source():
    data = load("body_measurements")
    assert data["version"]
    assert "clinic policy" in data["source"]


def test_weight_bounds_come_from_the_data_file():
    bounds = load("body_measurements")["weight_kg"]
    assert weight_problem(Decimal(bounds["min"])) is None
    assert weight_problem(Decimal(bounds["max"])) is None
    assert "outside the plausible range" in weight_problem(Decimal(bounds["max"]) + 1)
    assert weight_problem(Decimal(bounds["min"]) - Decimal("0.1"))


def test_height_in_metres_is_caught():
    assert height_problem(Decimal("1.7"))
    assert height_problem(Decimal("170")) is None


def test_age_and_date_of_birth():
    today = date(2026, 11, 29)
    assert age_in_years(date(1990, 11, 30), today) == 35
    assert age_in_years(date(1990, 11, 29), today) == 36
    assert date_of_birth_problem(date(2027, 1, 1), today) == "Date of birth is in the future."
    assert "over 120" in date_of_birth_problem(date(1900, 1, 1), today)
    assert date_of_birth_problem(date(1960, 1, 1), today) is None


def test_bmi():
    assert body_mass_index(Decimal("61.5"), Decimal("165")) == Decimal("22.6")
