from time import perf_counter

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ketacare.accounts.models import Clinic
from ketacare.jobs.worker import worker_thread
from ketacare.portal.demo import portal_patient, sign_in_hint
from ketacare.web.demo_data import DEMO_CLINIC, DEMO_PASSWORD, demo_patient_link, seed_demo
from ketacare.web.demo_jobs import seed_failed_job
from ketacare.web.demo_registry import (
    REGISTRY_CLINIC,
    REGISTRY_DIRECTOR,
    REGISTRY_MONTHS,
    REGISTRY_PATIENTS,
    REGISTRY_RESEARCHER,
    registry_is_built,
    seed_registry,
)


class Command(BaseCommand):
    help = "Run the demo clinic on the embedded SQLite database at http://127.0.0.1:8000."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--data-dir", help="Where to keep the database and key (read by the `ketacare` CLI)."
        )
        parser.add_argument("--no-seed", action="store_true", help="Do not add demo data.")
        parser.add_argument(
            "--no-registry",
            action="store_true",
            help="Do not build the synthetic clinic behind the registry dashboard (the slowest "
            "part of a first start).",
        )
        parser.add_argument(
            "--no-serve", action="store_true", help="Prepare the database and data, then exit."
        )

    def handle(self, *args: object, **options: object) -> None:
        if settings.KETACARE_REQUIRE_2FA and not options["no_seed"]:
            # The demo's staff sign plans, overrides and witness forms as staff do
            # (accounts.reauth), second factor included, and have no authenticator app.
            raise CommandError(
                "The demo's accounts have no authenticator app, and KETACARE_REQUIRE_2FA is on: "
                "seed the demo without it (then it may be turned on, with --no-seed)."
            )
        self.stdout.write(f"Data directory: {settings.DATA_DIR}")
        # Links in demo messages must point at this server.
        settings.KETACARE_BASE_URL = f"http://127.0.0.1:{options['port']}"
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if not options["no_seed"]:
            accounts = seed_demo()
            seed_failed_job(Clinic.objects.get(name=DEMO_CLINIC))
            if not options["no_registry"]:
                accounts += self._seed_registry()
            width = max(len(username) for username, _, _ in accounts)
            self.stdout.write(f"\nDemo accounts (password for all: {DEMO_PASSWORD}):")
            for username, role, clinic in accounts:
                self.stdout.write(f"  {username:<{width}}  {role:<20} {clinic}")
            self.stdout.write(
                "\nA patient's questionnaire link (no login; works once, like one sent by text):"
                f"\n  {demo_patient_link()}"
            )
            portal = portal_patient(Clinic.objects.get(name=DEMO_CLINIC))
            if portal is not None:
                self.stdout.write(
                    "\nThe patient portal, as a demo patient (no password: a one-time code):\n"
                    + sign_in_hint(portal, settings.KETACARE_BASE_URL)
                )
        if options["no_serve"]:
            return
        port = options["port"]
        self.stdout.write(
            f"\nOpen http://127.0.0.1:{port}/board/ — today's chair board (sign in as nurse or "
            "prescriber)."
            f"\nAppointments: http://127.0.0.1:{port}/schedule/ — the week's book by chair, with "
            "one appointment waiting to be rebooked after a closure."
            f"\nFailed jobs: http://127.0.0.1:{port}/jobs/failed/ — what the job queue gave up "
            "on (sign in as admin)."
        )
        if registry_is_built():
            self.stdout.write(
                f"Outcomes registry: http://127.0.0.1:{port}/registry/ — a year of a synthetic "
                f"clinic (sign in as {REGISTRY_DIRECTOR}; as {REGISTRY_RESEARCHER} it is "
                "de-identified)."
            )
        self.stdout.write("Press Ctrl+C to stop.\n")
        # The job queue's worker beside the server (the questionnaire dispatch, its retries);
        # it stops with the server.
        with worker_thread():
            call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)

    def _seed_registry(self) -> list[tuple[str, str, str]]:
        building = not registry_is_built()
        if building:
            self.stdout.write(
                f"\nBuilding {REGISTRY_CLINIC}: {REGISTRY_PATIENTS} synthetic patients over "
                f"{REGISTRY_MONTHS} months for the registry dashboard (first start only) …"
            )
        began = perf_counter()
        try:
            accounts = seed_registry()
        # The registry clinic is an extra: if it cannot be built (nothing of it is kept), the
        # rest of the demo still starts, and the next start tries again.
        except Exception as error:
            self.stderr.write(
                f"The registry demo clinic could not be built ({type(error).__name__}: {error}); "
                "the rest of the demo works. `--no-registry` skips it."
            )
            return []
        if building:
            self.stdout.write(f"Built in {perf_counter() - began:.0f} s.")
        return accounts
