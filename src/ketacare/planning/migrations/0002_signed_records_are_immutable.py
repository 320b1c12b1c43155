"""Make the database refuse to change a signed evaluation or plan, an addendum or an override
(see ``ketacare.audit.guards`` for how, per database)."""

from django.db import migrations

from ketacare.audit.guards import install_guards, remove_guards

# (trigger name, table, condition on OLD for the refusal, what is refused)
GUARDS = [
    (
        "planning_signed_evaluation",
        "planning_evaluation",
        "OLD.state = 'signed'",
        "a signed evaluation",
    ),
    (
        "planning_signed_plan",
        "planning_treatmentplan",
        "OLD.state = 'signed'",
        "a signed treatment plan",
    ),
    ("planning_addendum", "planning_evaluationaddendum", "TRUE", "an addendum"),
    ("planning_override", "planning_eligibilityoverride", "TRUE", "an eligibility override"),
]


class Migration(migrations.Migration):
    dependencies = [("planning", "0001_initial")]

    operations = [
        migrations.RunPython(
            lambda apps, editor: install_guards(editor, GUARDS),
            lambda apps, editor: remove_guards(editor, GUARDS),
        )
    ]
