"""A plan signed without a current treatment consent keeps the prescriber's reason.

On SQLite adding a column rebuilds the table, which drops its triggers: the guard that keeps
signed and discarded plans unchanged is put back (as migration 0006 left it)."""

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from ketacare.audit.guards import install_guards, remove_guards

GUARDS = [
    (
        "planning_signed_plan",
        "planning_treatmentplan",
        "OLD.state IN ('signed', 'discarded')",
        "a signed or discarded treatment plan",
    )
]


def reinstall(apps: StateApps, editor: BaseDatabaseSchemaEditor) -> None:
    remove_guards(editor, GUARDS)
    install_guards(editor, GUARDS)


class Migration(migrations.Migration):
    dependencies = [("planning", "0006_discarded_plans_are_immutable")]

    operations = [
        migrations.AddField(
            model_name="treatmentplan",
            name="consent_reason",
            field=models.TextField(blank=True),
        ),
        migrations.RunPython(reinstall, reinstall),
    ]
