"""Observations, dose steps and adverse events are never changed, and a discharged session is
locked with its note (see ``ketacare.audit.guards``)."""

from django.db import migrations

from ketacare.audit.guards import install_guards, remove_guards

GUARDS = [
    ("treatments_observation", "treatments_observation", "TRUE", "an observation"),
    ("treatments_dose_step", "treatments_dosestep", "TRUE", "a dose step"),
    ("treatments_adverse_event", "treatments_adverseevent", "TRUE", "an adverse event"),
    (
        "treatments_discharged_session",
        "treatments_treatmentsession",
        "OLD.state = 'discharged'",
        "a discharged session",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("treatments", "0001_initial")]

    operations = [
        migrations.RunPython(
            lambda apps, editor: install_guards(editor, GUARDS),
            lambda apps, editor: remove_guards(editor, GUARDS),
        )
    ]
