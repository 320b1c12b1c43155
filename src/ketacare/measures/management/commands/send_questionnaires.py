from django.core.management.base import BaseCommand, CommandParser

from ketacare.measures.dispatch import dispatch


class Command(BaseCommand):
    help = (
        "Send the links for scheduled questionnaires that are due, and one reminder for links "
        "left unanswered, now. `ketacare worker` runs this every hour; this command is for a "
        "one-off run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Say what would be sent.")

    def handle(self, *args: object, **options: object) -> None:
        report = dispatch(dry_run=bool(options["dry_run"]))
        verb = "Would send" if options["dry_run"] else "Sent"
        for label in report.sent:
            self.stdout.write(f"{verb} link: {label}")
        for label in report.reminded:
            self.stdout.write(f"{verb} reminder: {label}")
        for label, why in report.not_sent:
            self.stderr.write(f"Not sent ({why}): {label}")
        for label, why in report.reminders_not_sent:
            self.stderr.write(f"Reminder not sent ({why}): {label}")
        self.stdout.write(
            f"{len(report.sent)} links, {len(report.reminded)} reminders, "
            f"{len(report.not_sent) + len(report.reminders_not_sent)} not sent."
        )
