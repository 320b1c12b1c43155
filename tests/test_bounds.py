"""ketacare.bounds: the plausible dates, ids and decimals, and the form fields that hold
every form to them. Whatever is typed, the answer is a value in bounds or a message."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django import forms
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from ketacare import bounds
from ketacare.bounds import (
    EARLIEST_DATE,
    MAX_ID,
    BoundedDateField,
    BoundedDateTimeField,
    BoundedDecimalField,
    OutOfBounds,
    check_date,
    check_datetime,
    check_decimal,
    latest_date,
    parse_date,
    parse_id,
)

TODAY = date(2026, 5, 4)


def test_dates_run_from_1900_to_ten_years_ahead():
    assert latest_date(TODAY) == date(2036, 5, 4)
    assert latest_date(date(2028, 2, 29)) == date(2038, 2, 28)
    assert check_date(EARLIEST_DATE, TODAY) == EARLIEST_DATE
    assert check_date(date(2036, 5, 4), TODAY) == date(2036, 5, 4)
    for day in (date(1899, 12, 31), date(2036, 5, 5), date(1, 1, 1), date(9999, 12, 31)):
        with pytest.raises(OutOfBounds, match="must be between 1900-01-01 and 2036-05-04"):
            check_date(day, TODAY, "The date")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0001-01-01", "must be between"),
        ("9999-12-31", "must be between"),
        ("2024-02-30", "must be a date written YYYY-MM-DD"),
        ("10000-01-01", "must be a date written YYYY-MM-DD"),
        ("+2024-01-01", "must be a date written YYYY-MM-DD"),
        ("x" * 10_000, "must be a date written YYYY-MM-DD, got 'xxxx"),
    ],
)
def test_a_query_string_date_is_a_date_in_bounds_or_a_message(text, message):
    with pytest.raises(OutOfBounds, match=message):
        parse_date(text, TODAY, "The start date")
    assert parse_date("", TODAY) is None
    assert parse_date(" 2026-05-04 ", TODAY) == TODAY


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        (" 12 ", 12),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("9" * 40, None),
        ("0", None),
        ("-1", None),
        ("１２", None),  # full-width digits: int() reads them, no id is written so
        ("1e3", None),
        ("", None),
        (None, None),
    ],
)
def test_an_id_is_a_positive_64_bit_integer(text, expected):
    assert parse_id(text) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e999999", "must be a number"),
        ("NaN", "must be a number"),
        ("Infinity", "must be a number"),
        (float("inf"), "must be a number"),
        ("1_000", "must be a number"),
        ("9" * 40, "must be at most 9999999.99"),
        ("-10000000", "must be at most 9999999.99"),
        ("1.234", "can have at most two decimals"),
    ],
)
def test_a_decimal_fits_its_column_or_gets_a_message(value, message):
    with pytest.raises(OutOfBounds, match=message):
        check_decimal(value, max_digits=9, decimal_places=2, what="The quantity")


def test_a_decimal_in_bounds_is_kept_exactly():
    assert check_decimal("9999999.99", max_digits=9, decimal_places=2) == Decimal("9999999.99")
    assert check_decimal(Decimal("1E+1"), max_digits=9, decimal_places=2) == 10
    assert check_decimal(0.5, max_digits=3, decimal_places=1) == Decimal("0.5")


@given(st.text())
def test_any_text_is_an_id_or_none(text):
    found = parse_id(text)
    assert found is None or 1 <= found <= MAX_ID


@given(st.one_of(st.text(), st.floats(), st.integers(), st.decimals()))
def test_any_value_is_a_bounded_decimal_or_a_message(value):
    try:
        number = check_decimal(value, max_digits=9, decimal_places=2)
    except OutOfBounds:
        return
    assert abs(number) <= Decimal("9999999.99")
    assert number == number.quantize(Decimal("0.01"))


@given(st.text())
def test_any_text_is_a_date_in_bounds_none_or_a_message(text):
    try:
        day = parse_date(text, TODAY)
    except OutOfBounds:
        return
    assert day is None or EARLIEST_DATE <= day <= latest_date(TODAY)


class Form(forms.Form):
    day = BoundedDateField()
    at = BoundedDateTimeField()
    amount = BoundedDecimalField(max_digits=5, decimal_places=1)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"])
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("day", "0001-01-01"),
        ("day", "9999-12-31"),
        ("at", "0001-01-01T00:00"),
        ("at", "9999-12-31T23:59"),
        ("at", "0001-01-01 00:00:00"),
        ("amount", "1e999999"),
        ("amount", "NaN"),
        ("amount", "9" * 40),
    ],
)
def test_the_form_fields_refuse_out_of_bounds_values_with_a_message(zone, field, value):
    data = {"day": "2026-05-04", "at": "2026-05-04T10:00", "amount": "70.5", field: value}
    with override_settings(TIME_ZONE=zone):
        form = Form(data)
        assert not form.is_valid()
    assert list(form.errors) == [field]


def test_a_datetime_off_the_calendar_in_the_clinics_zone_is_out_of_bounds():
    with override_settings(TIME_ZONE="Pacific/Kiritimati"), pytest.raises(OutOfBounds):
        check_datetime(datetime(1, 1, 1, tzinfo=UTC), TODAY)
    with override_settings(TIME_ZONE="Pacific/Pago_Pago"), pytest.raises(OutOfBounds):
        check_datetime(datetime(9999, 12, 31, 23, 59, tzinfo=UTC), TODAY)


def test_a_long_value_is_shown_cut():
    assert len(bounds.shown("x" * 100_000)) == 40
