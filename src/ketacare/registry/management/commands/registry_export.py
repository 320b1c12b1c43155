from dataclasses import replace
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ketacare.accounts.models import Clinic
from ketacare.actor import SYSTEM
from ketacare.bounds import EARLIEST_DATE, latest_date
from ketacare.clinical.eligibility import ROUTES
from ketacare.patients.models import Patient
from ketacare.registry.dataset import Cohort
from ketacare.registry.export import actions, safe_harbor, writers


def _formats(value: str) -> list[str]:
    chosen = [f.strip() for f in value.split(",") if f.strip()]
    unknown = sorted(set(chosen) - set(writers.FORMATS))
    if unknown or not chosen:
        raise CommandError(
            f"--format takes a comma-separated list of {', '.join(writers.FORMATS)}"
            + (f"; unknown: {', '.join(unknown)}." if unknown else ".")
        )
    return chosen


class Command(BaseCommand):
    help = (
        "Write a clinic's de-identified research export (HIPAA Safe Harbor) to a directory: "
        "Parquet and CSV tables, FHIR NDJSON, a data dictionary. Only patients whose latest "
        "research-registry consent is granted are exported. The export is audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", required=True, help="Clinic name.")
        parser.add_argument("--out", required=True, help="Directory to write (new or empty).")
        parser.add_argument(
            "--format",
            default=",".join(writers.FORMATS),
            help=f"Comma-separated: {', '.join(writers.FORMATS)} (default: all).",
        )
        parser.add_argument("--from-year", type=int, help="First dose in this year or later.")
        parser.add_argument("--to-year", type=int, help="First dose in this year or earlier.")
        parser.add_argument("--indication")
        parser.add_argument("--route", choices=ROUTES)
        parser.add_argument("--sex", choices=Patient.SexAtBirth.values)
        parser.add_argument("--age-band", choices=[band[0] for band in safe_harbor.AGE_BANDS])

    def handle(self, *args: object, **options: Any) -> None:
        clinic = Clinic.objects.filter(name=options["clinic"]).first()
        if clinic is None:
            raise CommandError(f"No clinic named {options['clinic']!r}.")
        out = Path(options["out"])
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise CommandError(f"{out} exists and is not an empty directory.")
        formats = _formats(options["format"])
        last = latest_date(timezone.localdate()).year
        for flag in ("from_year", "to_year"):
            year = options[flag]
            if year is not None and not EARLIEST_DATE.year <= year <= last:
                raise CommandError(
                    f"--{flag.replace('_', '-')} must be a year from {EARLIEST_DATE.year} to "
                    f"{last}, got {year}."
                )
        start, end = safe_harbor.year_range(options["from_year"], options["to_year"])
        low, high = (
            safe_harbor.age_band(options["age_band"]) if options["age_band"] else (None, None)
        )
        cohort = Cohort(
            clinic_id=clinic.pk,
            start=start,
            end=end,
            indication=options["indication"] or None,
            route=options["route"] or None,
            min_age=low,
            max_age=high,
            sex=options["sex"] or None,
        )
        result = actions.export_cohort(replace(SYSTEM, clinic=clinic), cohort, formats)
        out.mkdir(parents=True, exist_ok=True)
        writers.write_directory(result.files, out)
        self.stderr.write(
            f"Wrote {len(result.files)} files to {out}. Left out for want of research-registry "
            f"consent: {result.left_out} patients."
        )
