from django.core.management.base import BaseCommand, CommandError, CommandParser

from ketacare.audit.verify import verify_chain


class Command(BaseCommand):
    help = "Audit trail tools. `ketacare audit verify` re-walks the hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("verify", help="Re-compute every event's hash and check the chain.")

    def handle(self, *args: object, **options: object) -> None:
        verdict = verify_chain()
        if not verdict.ok:
            raise CommandError(verdict.message)
        self.stdout.write(self.style.SUCCESS(verdict.message))
