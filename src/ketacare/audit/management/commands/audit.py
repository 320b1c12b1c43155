from django.core.management.base import BaseCommand, CommandError, CommandParser

from ketacare.audit import checkpoints
from ketacare.audit.record import chain_heads
from ketacare.audit.verify import verify_chain


class Command(BaseCommand):
    help = (
        "Audit trail tools. `ketacare audit verify` re-walks every clinic's hash chain and "
        "checks it against the signed checkpoints; `ketacare audit checkpoint` appends a "
        "signed checkpoint of every chain head to the checkpoint file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser(
            "verify",
            help="Re-compute every event's hash, check the chains against the checkpoints, "
            "and checkpoint the verified heads.",
        )
        verify.add_argument(
            "--no-checkpoint",
            action="store_true",
            help="Do not append a checkpoint of the verified heads.",
        )
        sub.add_parser("checkpoint", help="Append a signed checkpoint of every chain head.")

    def handle(self, *args: object, **options: object) -> None:
        if options["subcommand"] == "checkpoint":
            heads = chain_heads()
            path = checkpoints.append(checkpoints.AUDIT_LOG, heads)
            self.stdout.write(
                self.style.SUCCESS(f"Checkpointed {len(heads)} audit chain(s) in {path}.")
            )
            return
        verdict = verify_chain()
        if not verdict.ok:
            raise CommandError(verdict.message)
        if not options["no_checkpoint"]:
            # The heads as verified: the next run holds the database to at least this.
            checkpoints.append(checkpoints.AUDIT_LOG, verdict.heads)
        self.stdout.write(self.style.SUCCESS(verdict.message))
