"""Keep the clinic on each safety alert, so the open-alert count needs no join."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def copy_clinic(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    SafetyAlert = apps.get_model("measures", "SafetyAlert")
    for alert in SafetyAlert.objects.select_related("patient").iterator():
        alert.clinic_id = alert.patient.clinic_id
        alert.save(update_fields=["clinic"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("measures", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="safetyalert",
            name="clinic",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.clinic",
            ),
        ),
        migrations.RunPython(copy_clinic, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="safetyalert",
            name="clinic",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.clinic",
            ),
        ),
        migrations.AddIndex(
            model_name="safetyalert",
            index=models.Index(
                fields=["clinic", "acknowledged_at"], name="measures_sa_clinic__d22d3a_idx"
            ),
        ),
    ]
