"""The flowsheet form holds each value to the same plausible range as the action: the vital
signs' bounds of vital_signs.toml and the MOAA/S and CADSS scales' totals. Read here from the
files themselves, so a bound typed into the form again (it said 400 where the file said 300)
fails this test."""

import tomllib
from importlib.resources import files

import pytest

from ketacare.clinical.instruments.definitions import DATA as INSTRUMENTS
from ketacare.clinical.session import VitalSigns, plausibility_problems
from ketacare.treatments.forms import ObservationForm

VITAL_SIGNS = tomllib.loads(
    files("ketacare.clinical").joinpath("data", "vital_signs.toml").read_text("utf-8")
)["bounds"]


def scale_range(scale: str) -> tuple[int, int]:
    """A summed scale's total range, from its items' options in its data file."""
    raw = tomllib.loads(INSTRUMENTS.joinpath(f"{scale}.toml").read_text("utf-8"))
    options = raw.get("options") or raw["items"][0]["options"]
    count = raw.get("items_count") or len(raw["items"])
    return count * min(options["values"]), count * max(options["values"])


FILE_BOUNDS = {
    **{name: (bound["min"], bound["max"]) for name, bound in VITAL_SIGNS.items()},
    "moaas": scale_range("moaas"),
    "cadss": scale_range("cadss"),
}


def test_every_field_of_the_form_has_its_range_from_a_data_file():
    assert set(ObservationForm.base_fields) == set(FILE_BOUNDS)


@pytest.mark.parametrize("name", sorted(FILE_BOUNDS))
def test_the_form_s_range_is_the_data_file_s(name):
    field = ObservationForm.base_fields[name]
    assert (field.min_value, field.max_value) == FILE_BOUNDS[name]


def test_the_scales_are_the_ranges_staff_know():
    assert FILE_BOUNDS["moaas"] == (0, 5)
    assert FILE_BOUNDS["cadss"] == (0, 92)
    assert ObservationForm.base_fields["cadss"].label == "CADSS (0–92)"


@pytest.mark.parametrize("name", sorted(FILE_BOUNDS))
def test_the_form_and_the_action_agree_at_each_end(name):
    low, high = FILE_BOUNDS[name]
    for value, plausible in ((low, True), (high, True), (low - 1, False), (high + 1, False)):
        form = ObservationForm({name: str(value)})
        assert form.is_valid() is plausible, (name, value)
        if not plausible:
            assert f"Implausible value: outside {low}–{high}." in form.errors[name]
        if name != "cadss":  # the action judges the vital signs and MOAA/S
            vitals = VitalSigns(**{name: value})
            assert (plausibility_problems(vitals) == []) is plausible, (name, value)
