"""Why a due questionnaire or its reminder was not sent (no contact consent, no address)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("measures", "0002_safetyalert_clinic"),
    ]

    operations = [
        migrations.AddField(
            model_name="assignment",
            name="not_sent_reason",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="assignment",
            name="not_sent_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="patientlink",
            name="reminder_not_sent",
            field=models.CharField(blank=True, max_length=40),
        ),
    ]
