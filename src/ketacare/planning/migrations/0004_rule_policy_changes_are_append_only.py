"""Clinic changes to eligibility rules are history: the database refuses to rewrite them."""

from django.db import migrations

from ketacare.audit.guards import install_guards, remove_guards

GUARDS = [("planning_rule_policy_change", "planning_rulepolicychange", "TRUE", "a rule change")]


class Migration(migrations.Migration):
    dependencies = [("planning", "0003_rulepolicychange")]

    operations = [
        migrations.RunPython(
            lambda apps, editor: install_guards(editor, GUARDS),
            lambda apps, editor: remove_guards(editor, GUARDS),
        )
    ]
