"""Timestamps are written by the actions at the actor's time (``Actor.clock``), no longer by
``auto_now``/``auto_now_add``, which overwrite any value given on save.

Only Django's model state changes: the columns stay as they are (a Python default is not in
the schema). Nothing is run on the database, so SQLite does not rebuild these tables, which
would drop their guards (``ketacare.audit.guards``)."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("treatments", "0004_gate_repeat_readiness_transfer_serious"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="adverseevent",
                    name="recorded_at",
                    field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                migrations.AlterField(
                    model_name="observation",
                    name="recorded_at",
                    field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                migrations.AlterField(
                    model_name="sessionalert",
                    name="created_at",
                    field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                migrations.AlterField(
                    model_name="treatmentsession",
                    name="updated_at",
                    field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
            ],
        ),
    ]
