from django.core.management.base import BaseCommand, CommandError, CommandParser

from ketacare.inventory.chain import verify
from ketacare.inventory.models import LedgerEntry, Registration


class Command(BaseCommand):
    help = (
        "Controlled-substance ledger tools. `ketacare inventory verify` re-computes every "
        "entry's hash, follows each registration's chain and checks every balance against "
        "its entries; it exits non-zero naming the first broken entry."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("verify", help="Check the hash chains and the balances.")

    def handle(self, *args: object, **options: object) -> None:
        registrations = list(Registration.objects.order_by("pk"))
        problems = verify(registrations)
        if problems:
            raise CommandError(
                "; ".join(f"{p.registration.dea_number}: {p.message}" for p in problems)
            )
        entries = LedgerEntry.objects.count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Ledger intact: {entries} entries in {len(registrations)} registration(s), "
                "every balance equal to its entries."
            )
        )
