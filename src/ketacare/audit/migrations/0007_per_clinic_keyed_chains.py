"""One audit chain per clinic, keyed digests, and DELETE refused on SQLite too.

- ``ChainHead.clinic``: a head per clinic; the existing head (pk 1) stays the installation's
  chain, with every event written before this migration and, from now on, the events of no
  clinic. No event row changes (the table refuses updates).
- ``legacy_*``: events from before this migration keep their unkeyed SHA-256 digests; the head
  records where they end, sealed with the audit key (``chain.legacy_seal``). ``verify`` checks
  them with SHA-256 up to the seal and nothing after it: re-hashing them would change the last
  digest the seal covers, and no unkeyed event can follow it. The seal records the chain as it
  is; it does not vouch for it (``verify`` still walks every old event).
- PostgreSQL: the heads' id sequence continues after the installation's head (pk 1).
- SQLite: triggers refuse DELETE of audit events and of chain heads, as PostgreSQL's do. The
  test suite lifts them for Django's flush only (tests/conftest.py).
"""

import django.db.models.deletion
from django.core.management.color import no_style
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from ketacare.audit.chain import legacy_seal

SQLITE_INSTALL = [
    """
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only (DELETE rejected)');
END;
""",
    """
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_chainhead
BEGIN
    SELECT RAISE(ABORT, 'the audit chain head cannot be deleted');
END;
""",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_event_no_delete;",
    "DROP TRIGGER IF EXISTS audit_head_no_delete;",
]


def seal_legacy_events(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    ChainHead = apps.get_model("audit", "ChainHead")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    head = ChainHead.objects.filter(pk=1).first()
    if head is None or not AuditEvent.objects.exists():
        return  # a new installation: every event will be keyed
    head.legacy_event_id = head.last_event_id
    head.legacy_hash = head.last_hash
    head.legacy_seal = legacy_seal("installation", head.last_event_id, head.last_hash)
    head.save(update_fields=["legacy_event_id", "legacy_hash", "legacy_seal"])


def continue_head_ids(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Migration 0003 created the installation's head with an explicit pk 1, which leaves
    PostgreSQL's id sequence at its start; the first clinic's head would collide with it."""
    ChainHead = apps.get_model("audit", "ChainHead")
    for statement in schema_editor.connection.ops.sequence_reset_sql(no_style(), [ChainHead]):
        schema_editor.execute(statement)


def unseal(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    ChainHead = apps.get_model("audit", "ChainHead")
    ChainHead.objects.filter(pk=1).update(legacy_event_id=None, legacy_hash="", legacy_seal="")


def install_sqlite_delete_guards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_INSTALL:
            schema_editor.execute(statement)


def remove_sqlite_delete_guards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_REMOVE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_staff_mobile"),
        ("audit", "0006_alter_auditevent_action"),
    ]

    operations = [
        migrations.AddField(
            model_name="chainhead",
            name="clinic",
            field=models.OneToOneField(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.clinic",
            ),
        ),
        migrations.AddField(
            model_name="chainhead",
            name="legacy_event_id",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="chainhead",
            name="legacy_hash",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="chainhead",
            name="legacy_seal",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["clinic", "id"], name="audit_audit_clinic__ca3901_idx"),
        ),
        migrations.AddConstraint(
            model_name="chainhead",
            constraint=models.CheckConstraint(
                condition=models.Q(("clinic__isnull", False), ("pk", 1), _connector="OR"),
                name="audit_chain_of_a_clinic_or_the_installation",
            ),
        ),
        migrations.RunPython(continue_head_ids, migrations.RunPython.noop),
        migrations.RunPython(seal_legacy_events, unseal),
        migrations.RunPython(install_sqlite_delete_guards, remove_sqlite_delete_guards),
    ]
