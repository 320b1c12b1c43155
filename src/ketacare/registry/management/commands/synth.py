import os
import subprocess
import sys
from datetime import date
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from tqdm import tqdm

from ketacare.dev.synth import SynthError, SynthParams, span_days, synthesize

# Past this, the actions path takes hours (about 2.5 patients a second): say so.
SLOW_PATIENTS = 2_000


class Command(BaseCommand):
    help = (
        "Fill the database with a synthetic clinic: patients referred over --months ending "
        "today, evaluated, planned, dosed, monitored and followed up with questionnaires, and "
        "the clinic's controlled-substance stock, every step through the app's actions at its "
        "simulated time (or, with --bulk, the same rows written in batches). Deterministic "
        "for a seed on a given day. For development and the registry's benchmarks; never on a "
        "production database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, required=True, help="Patients referred.")
        parser.add_argument("--seed", type=int, default=0, help="Random seed (default 0).")
        parser.add_argument(
            "--months", type=float, default=12, help="Months of referrals, ending today."
        )
        parser.add_argument(
            "--clinic",
            default=SynthParams.clinic,
            help=f"Clinic name (default {SynthParams.clinic!r}); created if missing; it must "
            "have no patients yet.",
        )
        parser.add_argument(
            "--database",
            help="A database URL (as DATABASE_URL) to fill instead of the configured one; "
            "migrated first if it is empty.",
        )
        parser.add_argument(
            "--every-day", action="store_true", help="A new clinic treats every day (else Mon-Fri)."
        )
        parser.add_argument(
            "--end",
            type=date.fromisoformat,
            help="Last day is the one before this (default today).",
        )
        parser.add_argument(
            "--bulk",
            action="store_true",
            help="Write each step's rows in batches instead of calling the action: the same rows "
            "(tests/registry/test_synth.py compares them), about 20 times faster.",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: object, **options: Any) -> None:
        if options["patients"] < 0:
            raise CommandError("--patients must be 0 or more.")
        if options["database"] and os.environ.get("DATABASE_URL") != options["database"]:
            self._in_database(options)
            return
        self._migrate_if_empty()
        params = SynthParams(
            patients=options["patients"],
            seed=options["seed"],
            months=options["months"],
            clinic=options["clinic"],
            every_day=options["every_day"],
            end=options["end"],
        )
        if not options["bulk"] and params.patients > SLOW_PATIENTS:
            self.stderr.write(
                f"{params.patients} patients through the actions take about "
                f"{params.patients / 2.5 / 3600:.1f} hours (about 2.5 a second); --bulk writes "
                "the same rows about 20 times faster."
            )
        try:
            days = span_days(params.months, params.end or timezone.localdate())
        except SynthError as error:
            raise CommandError(str(error)) from None
        with tqdm(
            total=days,
            unit="day",
            desc="synth",
            file=sys.stderr,
            disable=options["no_progress"],
        ) as bar:
            try:
                report = synthesize(params, bulk=options["bulk"], progress=bar.update)
            except SynthError as error:
                raise CommandError(str(error)) from None
        rate = report.patients / report.seconds if report.seconds else 0.0
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.patients} patients, {report.sessions} sessions ({report.dosed} dosed, "
                f"{report.severe_hypertension} with severe hypertension), "
                f"{report.questionnaires} questionnaires in clinic #{report.clinic_id} "
                f"({params.clinic}); {report.steps} steps in {report.seconds:.1f} s, "
                f"{rate:.1f} patients/s ({'bulk' if options['bulk'] else 'actions'})."
            )
        )

    def _in_database(self, options: dict[str, Any]) -> None:
        """Settings are read before a command runs: run again with DATABASE_URL set."""
        argv = [
            "synth",
            f"--patients={options['patients']}",
            f"--seed={options['seed']}",
            f"--months={options['months']}",
            f"--clinic={options['clinic']}",
        ]
        argv += [f"--end={options['end'].isoformat()}"] if options["end"] else []
        argv += [f"--{flag.replace('_', '-')}" for flag in ("every_day", "bulk", "no_progress")
                 if options[flag]]  # fmt: skip
        env = {**os.environ, "DATABASE_URL": options["database"]}
        code = "from ketacare.cli import main; main()"
        result = subprocess.run([sys.executable, "-c", code, *argv], env=env, check=False)  # noqa: S603
        if result.returncode:
            raise CommandError(f"synth into the --database failed (exit {result.returncode}).")

    def _migrate_if_empty(self) -> None:
        executor = MigrationExecutor(connection)
        if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
            return
        if connection.introspection.table_names():
            raise CommandError("The database has unapplied migrations: run `ketacare migrate`.")
        self.stderr.write("An empty database: migrating it first.")
        call_command("migrate", interactive=False, verbosity=0)
