"""A discarded draft is kept as it was discarded, like a signed plan."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from ketacare.audit.guards import install_guards, remove_guards

SIGNED_ONLY = [
    (
        "planning_signed_plan",
        "planning_treatmentplan",
        "OLD.state = 'signed'",
        "a signed treatment plan",
    )
]
SIGNED_OR_DISCARDED = [
    (
        "planning_signed_plan",
        "planning_treatmentplan",
        "OLD.state IN ('signed', 'discarded')",
        "a signed or discarded treatment plan",
    )
]


def forwards(apps: StateApps, editor: BaseDatabaseSchemaEditor) -> None:
    remove_guards(editor, SIGNED_ONLY)
    install_guards(editor, SIGNED_OR_DISCARDED)


def backwards(apps: StateApps, editor: BaseDatabaseSchemaEditor) -> None:
    remove_guards(editor, SIGNED_OR_DISCARDED)
    install_guards(editor, SIGNED_ONLY)


class Migration(migrations.Migration):
    dependencies = [("planning", "0005_plan_discard")]

    operations = [migrations.RunPython(forwards, backwards)]
