"""The REMS Patient Monitoring Form's submission, recorded once per session and never changed
(see ``ketacare.audit.guards``)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from ketacare.audit.guards import install_guards, remove_guards

GUARDS = [
    ("treatments_rems_submission", "treatments_remssubmission", "TRUE", "a REMS submission"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("treatments", "0002_records_are_append_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RemsSubmission",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("submitted_at", models.DateTimeField()),
                ("reference", models.CharField(max_length=100)),
                (
                    "session",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="rems_submission",
                        to="treatments.treatmentsession",
                    ),
                ),
                (
                    "submitted_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.RunPython(
            lambda apps, editor: install_guards(editor, GUARDS),
            lambda apps, editor: remove_guards(editor, GUARDS),
        ),
    ]
