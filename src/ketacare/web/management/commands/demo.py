from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from ketacare.web.demo_data import DEMO_PASSWORD, demo_patient_link, seed_demo


class Command(BaseCommand):
    help = "Run the demo clinic on the embedded SQLite database at http://127.0.0.1:8000."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--data-dir", help="Where to keep the database and key (read by the `ketacare` CLI)."
        )
        parser.add_argument("--no-seed", action="store_true", help="Do not add demo data.")
        parser.add_argument(
            "--no-serve", action="store_true", help="Prepare the database and data, then exit."
        )

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(f"Data directory: {settings.DATA_DIR}")
        # Links in demo messages must point at this server.
        settings.KETACARE_BASE_URL = f"http://127.0.0.1:{options['port']}"
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if not options["no_seed"]:
            accounts = seed_demo()
            self.stdout.write(f"\nDemo accounts (password for all: {DEMO_PASSWORD}):")
            for username, role, clinic in accounts:
                self.stdout.write(f"  {username:<14} {role:<20} {clinic}")
            self.stdout.write(
                "\nA patient's questionnaire link (no login; works once, like one sent by text):"
                f"\n  {demo_patient_link()}"
            )
        if options["no_serve"]:
            return
        port = options["port"]
        self.stdout.write(
            f"\nOpen http://127.0.0.1:{port}/board/ — today's chair board (sign in as nurse or "
            "prescriber) — press Ctrl+C to stop.\n"
        )
        call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)
