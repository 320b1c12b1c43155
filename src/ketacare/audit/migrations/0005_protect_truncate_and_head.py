"""PostgreSQL: refuse TRUNCATE of the audit log and its chain head, and DELETE of the head.

Row triggers do not see TRUNCATE. The test suite empties tables with TRUNCATE between
transactional tests, so a session may allow it with ``SET ketacare.allow_audit_truncate = on``
(tests/settings.py does, for the test database only); the application never does.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

INSTALL = """
CREATE OR REPLACE FUNCTION ketacare_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('ketacare.allow_audit_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit log cannot be truncated';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION ketacare_audit_no_truncate();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_chainhead
    FOR EACH STATEMENT EXECUTE FUNCTION ketacare_audit_no_truncate();
CREATE OR REPLACE FUNCTION ketacare_audit_head_no_delete() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit chain head cannot be deleted';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_chainhead
    FOR EACH ROW EXECUTE FUNCTION ketacare_audit_head_no_delete();
"""
REMOVE = """
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_chainhead;
DROP TRIGGER IF EXISTS audit_head_no_delete ON audit_chainhead;
DROP FUNCTION IF EXISTS ketacare_audit_no_truncate();
DROP FUNCTION IF EXISTS ketacare_audit_head_no_delete();
"""


def install(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def remove(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_append_only_base_manager")]

    operations = [migrations.RunPython(install, remove)]
