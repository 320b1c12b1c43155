"""Make the database refuse to change or delete a patient's opt-out (see
``ketacare.audit.guards``): starting reminders again adds a row, it never rewrites one."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from ketacare.audit.guards import (
    install_guards,
    install_sqlite_delete_guards,
    remove_guards,
    remove_sqlite_delete_guards,
)

GUARDS = [("reminders_opt_out", "reminders_optout", "TRUE", "a reminder opt-out")]


def install(apps: StateApps, editor: BaseDatabaseSchemaEditor) -> None:
    install_guards(editor, GUARDS)
    install_sqlite_delete_guards(editor, GUARDS)


def remove(apps: StateApps, editor: BaseDatabaseSchemaEditor) -> None:
    remove_sqlite_delete_guards(editor, GUARDS)
    remove_guards(editor, GUARDS)


class Migration(migrations.Migration):
    dependencies = [("reminders", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
