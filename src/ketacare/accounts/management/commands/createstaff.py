import getpass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from ketacare.accounts.actions import create_clinic, create_staff
from ketacare.accounts.models import Clinic
from ketacare.accounts.permissions import Role
from ketacare.actor import SYSTEM


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
        parser.add_argument(
            "--own-password",
            action="store_true",
            help="The password is the staff member's own (they run this command): do not make "
            "them change it at first sign-in, as an account whose password another chose must.",
        )

    def handle(self, *args: object, **options: Any) -> None:
        password = options["password"] or getpass.getpass("Password: ")
        try:
            with transaction.atomic():  # a refused password leaves no new clinic behind
                clinic = Clinic.objects.filter(name=options["clinic"]).first()
                created = clinic is None
                clinic = clinic or create_clinic(SYSTEM, options["clinic"])
                user = create_staff(
                    SYSTEM,
                    clinic=clinic,
                    username=options["username"],
                    password=password,
                    role=options["role"],
                    first_name=options["first_name"],
                    last_name=options["last_name"],
                    email=options["email"],
                    must_change_password=not options["own_password"],
                )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        if created:
            self.stdout.write(f"Created clinic {clinic.name}.")
        self.stdout.write(self.style.SUCCESS(f"{user.username} is {options['role']} at {clinic}."))
        if user.must_change_password:
            self.stdout.write(f"{user.username} must choose a new password at first sign-in.")
