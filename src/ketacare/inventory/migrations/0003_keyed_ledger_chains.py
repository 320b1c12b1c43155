"""Keyed ledger digests, and DELETE refused on SQLite too.

Entries written before this migration keep their unkeyed SHA-256 digests; each registration
records where they end, sealed with the audit key (``audit.chain.legacy_seal``), so they still
verify and cannot be re-hashed or extended (see audit migration 0007 and docs/decisions/0103).
On SQLite, the guards of migration 0002 now refuse DELETE as well as UPDATE, as on PostgreSQL.
"""

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from ketacare.audit.chain import legacy_seal
from ketacare.audit.guards import install_sqlite_delete_guards, remove_sqlite_delete_guards

# The guards of migration 0002, now on DELETE as well (SQLite).
GUARDS = [
    ("inventory_ledger_entry", "inventory_ledgerentry", "TRUE", "a ledger entry"),
    ("inventory_count", "inventory_physicalcount", "TRUE", "a physical count"),
    ("inventory_count_line", "inventory_countline", "TRUE", "a count line"),
    (
        "inventory_resolved_discrepancy",
        "inventory_discrepancy",
        "OLD.resolved_at IS NOT NULL",
        "a resolved discrepancy",
    ),
]


def seal_legacy_entries(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Registration = apps.get_model("inventory", "Registration")
    for registration in Registration.objects.filter(last_sequence__gt=0):
        registration.legacy_sequence = registration.last_sequence
        registration.legacy_hash = registration.last_hash
        registration.legacy_seal = legacy_seal(
            f"registration:{registration.pk}", registration.last_sequence, registration.last_hash
        )
        registration.save(update_fields=["legacy_sequence", "legacy_hash", "legacy_seal"])


def unseal(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Registration = apps.get_model("inventory", "Registration")
    Registration.objects.update(legacy_sequence=None, legacy_hash="", legacy_seal="")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0002_ledger_is_append_only")]

    operations = [
        migrations.AddField(
            model_name="registration",
            name="legacy_hash",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="registration",
            name="legacy_seal",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="registration",
            name="legacy_sequence",
            field=models.PositiveIntegerField(null=True),
        ),
        migrations.RunPython(seal_legacy_entries, unseal),
        migrations.RunPython(
            lambda apps, editor: install_sqlite_delete_guards(editor, GUARDS),
            lambda apps, editor: remove_sqlite_delete_guards(editor, GUARDS),
        ),
    ]
