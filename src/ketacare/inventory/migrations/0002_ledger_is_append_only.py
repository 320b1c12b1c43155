"""The database refuses to change or delete ledger entries, counts and count lines, and a
resolved discrepancy (see ``ketacare.audit.guards``)."""

from django.db import migrations

from ketacare.audit.guards import install_guards, remove_guards

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


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]

    operations = [
        migrations.RunPython(
            lambda apps, editor: install_guards(editor, GUARDS),
            lambda apps, editor: remove_guards(editor, GUARDS),
        )
    ]
