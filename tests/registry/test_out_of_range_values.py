"""The registry's commands refuse dates out of bounds with a message (issue 13): a year of 0
or 99999 for the research export, a synthetic program ending in year 1 or running for 1e999999
months. Nothing is written."""

import pytest
from django.core.management import CommandError, call_command

from ketacare.patients.models import Patient


@pytest.mark.parametrize(("flag", "year"), [("--from-year", "0"), ("--to-year", "99999")])
def test_the_export_command_refuses_a_year_out_of_bounds(flag, year, clinic, tmp_path):
    out = tmp_path / "export"
    with pytest.raises(CommandError, match=f"{flag} must be a year from 1900 to"):
        call_command("registry_export", "--clinic", clinic.name, "--out", str(out), flag, year)
    assert not out.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--end=0001-01-01", "The program's last day \\(--end\\) must be between 1900-01-01"),
        ("--months=1e999999", "The number of months must be 0 or more, got inf"),
        ("--months=99999", "99999.0 months before .* starts before 1900-01-01"),
    ],
)
def test_the_synthetic_program_refuses_days_out_of_bounds(flag, message):
    with pytest.raises(CommandError, match=message):
        call_command("synth", "--patients=1", flag, "--clinic=Bounds Clinic", "--no-progress")
    assert not Patient.objects.exists()
