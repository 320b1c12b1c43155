"""Make the database refuse to change or delete a portal message or a signed consent (see
``ketacare.audit.guards`` for how, per database): a correction is another message, a
withdrawal another consent."""

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
    ("portal_message", "portal_portalmessage", "TRUE", "a portal message"),
    ("portal_signed_consent", "portal_signedconsent", "TRUE", "a signed consent"),
]


def install(apps: StateApps, editor: BaseDatabaseSchemaEditor) -> None:
    install_guards(editor, GUARDS)
    install_sqlite_delete_guards(editor, GUARDS)


def remove(apps: StateApps, editor: BaseDatabaseSchemaEditor) -> None:
    remove_sqlite_delete_guards(editor, GUARDS)
    remove_guards(editor, GUARDS)


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
