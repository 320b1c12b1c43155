"""Create the chain head row up front, so that the first two events cannot race to create it."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

GENESIS_HASH = "0" * 64


def create_head(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    ChainHead = apps.get_model("audit", "ChainHead")
    ChainHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS_HASH})


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]
