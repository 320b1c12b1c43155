from django.core.management.base import BaseCommand, CommandError, CommandParser

from ketacare.audit import checkpoints
from ketacare.inventory.chain import ledger_head, verify
from ketacare.inventory.models import LedgerEntry, Registration


class Command(BaseCommand):
    help = (
        "Controlled-substance ledger tools. `ketacare inventory verify` re-computes every "
        "entry's hash, follows each registration's chain, checks it against the signed "
        "checkpoints and every balance against its entries; it exits non-zero naming the "
        "first broken entry. `ketacare inventory checkpoint` appends a signed checkpoint of "
        "every registration's chain head."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify_parser = sub.add_parser(
            "verify",
            help="Check the hash chains, the checkpoints and the balances; then checkpoint "
            "the verified heads.",
        )
        verify_parser.add_argument(
            "--no-checkpoint",
            action="store_true",
            help="Do not append a checkpoint of the verified heads.",
        )
        sub.add_parser("checkpoint", help="Append a signed checkpoint of every ledger head.")

    def handle(self, *args: object, **options: object) -> None:
        registrations = list(Registration.objects.order_by("pk"))
        if options["subcommand"] == "checkpoint":
            heads = [ledger_head(r) for r in registrations if r.last_sequence]
            path = checkpoints.append(checkpoints.LEDGER_LOG, heads)
            self.stdout.write(self.style.SUCCESS(f"Checkpointed {len(heads)} ledger(s) in {path}."))
            return
        problems = verify(registrations)
        if problems:
            raise CommandError("; ".join(f"{p.label}: {p.message}" for p in problems))
        if not options["no_checkpoint"]:
            # The heads as read before the walk; verify() held each one while checking it.
            checkpoints.append(
                checkpoints.LEDGER_LOG, [ledger_head(r) for r in registrations if r.last_sequence]
            )
        entries = LedgerEntry.objects.count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Ledger intact: {entries} entries in {len(registrations)} registration(s), "
                "every balance equal to its entries."
            )
        )
