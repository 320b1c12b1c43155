import os
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Serve ketacare in production with gunicorn (needs SECRET_KEY and DATABASE_URL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("KETACARE_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 3))
        )
        parser.add_argument(
            "--migrate", action="store_true", help="Apply database migrations before serving."
        )

    def handle(self, *args: object, **options: object) -> None:
        if not os.environ.get("SECRET_KEY"):
            # A key left in the data directory by `ketacare demo` is not good enough here.
            raise CommandError("SECRET_KEY must be set in the environment to serve ketacare.")
        if options["migrate"]:
            call_command("migrate", interactive=False)
        # Every chain head, checkpointed outside the database as the server starts.
        call_command("audit", "checkpoint")
        call_command("inventory", "checkpoint")
        call_command("collectstatic", interactive=False, verbosity=0)
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "ketacare.wsgi:application",
            "--bind",
            str(options["bind"]),
            "--workers",
            str(options["workers"]),
            "--access-logfile",
            "-",
            # No query string: searches carry patient names and birth dates.
            "--access-logformat",
            '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss',
        ]
        os.execv(sys.executable, argv)  # noqa: S606  (replace this process with gunicorn)
