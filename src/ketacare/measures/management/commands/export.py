import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ketacare.actor import SYSTEM
from ketacare.measures.actions import export_fhir
from ketacare.patients.models import Patient


class Command(BaseCommand):
    help = "Export data. `ketacare export fhir --patient MRN` writes a patient's measures as FHIR."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="format", required=True)
        fhir = sub.add_parser("fhir", help="A patient's measures as a FHIR R4 Bundle (JSON).")
        fhir.add_argument("--patient", required=True, metavar="MRN")
        fhir.add_argument("--clinic", help="Clinic name, when the MRN exists in several.")
        fhir.add_argument("--out", help="File to write (default: standard output).")

    def handle(self, *args: object, **options: str) -> None:
        patients = Patient.objects.filter(mrn=options["patient"]).select_related("clinic")
        if options["clinic"]:
            patients = patients.filter(clinic__name=options["clinic"])
        found = list(patients[:2])
        if not found:
            raise CommandError(f"No patient with MRN {options['patient']}.")
        if len(found) > 1:
            raise CommandError(
                f"MRN {options['patient']} exists in several clinics; add --clinic NAME."
            )
        bundle = export_fhir(SYSTEM, found[0])
        text = json.dumps(bundle, indent=2, ensure_ascii=False)
        if options["out"]:
            Path(options["out"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {len(bundle['entry'])} resources to {options['out']}.")
        else:
            self.stdout.write(text)
