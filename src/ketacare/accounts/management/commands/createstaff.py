import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ketacare.accounts.access import SYSTEM
from ketacare.accounts.actions import create_clinic, create_staff
from ketacare.accounts.models import Clinic, Membership
from ketacare.accounts.permissions import Role


class Command(BaseCommand):
    help = "Create a staff account with a role at a clinic (the clinic is created if new)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--clinic", required=True, help="Clinic name.")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password", help="Initial password (prompted for when omitted; avoid shell history)."
        )

    def handle(self, *args: object, **options: str) -> None:
        password = options["password"] or getpass.getpass("Password: ")
        clinic = Clinic.objects.filter(name=options["clinic"]).first()
        if clinic is None:
            clinic = create_clinic(SYSTEM, options["clinic"])
            self.stdout.write(f"Created clinic {clinic.name}.")
        elif Membership.objects.filter(user__username=options["username"], clinic=clinic).exists():
            raise CommandError(f"{options['username']} already has a role at {clinic}.")
        try:
            user = create_staff(
                SYSTEM,
                clinic=clinic,
                username=options["username"],
                password=password,
                role=options["role"],
                first_name=options["first_name"],
                last_name=options["last_name"],
                email=options["email"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(self.style.SUCCESS(f"{user.username} is {options['role']} at {clinic}."))
