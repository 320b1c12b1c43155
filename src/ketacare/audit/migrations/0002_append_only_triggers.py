"""Make the database itself refuse to change or remove audit events.

PostgreSQL: a trigger rejects UPDATE and DELETE. SQLite: a trigger rejects UPDATE; DELETE is
left to the model guard there because Django's test flush empties tables with DELETE on
SQLite (PostgreSQL flushes with TRUNCATE, which row triggers do not see).
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

PG_INSTALL = """
CREATE OR REPLACE FUNCTION ketacare_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% rejected)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION ketacare_audit_append_only();
"""
PG_REMOVE = """
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS ketacare_audit_append_only();
"""
SQLITE_INSTALL = """
CREATE TRIGGER audit_event_append_only BEFORE UPDATE ON audit_auditevent
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only (UPDATE rejected)');
END;
"""
SQLITE_REMOVE = "DROP TRIGGER IF EXISTS audit_event_append_only;"


def install(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_INSTALL, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_INSTALL)


def remove(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_REMOVE, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_REMOVE)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
