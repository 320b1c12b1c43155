"""Make the database refuse to change or delete a line of a referral's history or a contact
attempt (see ``ketacare.audit.guards`` for how, per database): a change adds a line, it never
rewrites one."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from ketacare.audit.guards import (
    install_guards,
    install_sqlite_delete_guards,
    remove_guards,
    remove_sqlite_delete_guards,
)

GUARDS = [
    ("referrals_referral_change", "referrals_referralchange", "TRUE", "a referral history line"),
    ("referrals_contact_attempt", "referrals_contactattempt", "TRUE", "a contact attempt"),
]


def install(apps: StateApps, editor: BaseDatabaseSchemaEditor) -> None:
    install_guards(editor, GUARDS)
    install_sqlite_delete_guards(editor, GUARDS)


def remove(apps: StateApps, editor: BaseDatabaseSchemaEditor) -> None:
    remove_sqlite_delete_guards(editor, GUARDS)
    remove_guards(editor, GUARDS)


class Migration(migrations.Migration):
    dependencies = [("referrals", "0002_intake_queue")]

    operations = [migrations.RunPython(install, remove)]
