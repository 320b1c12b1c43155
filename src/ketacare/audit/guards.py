"""Triggers that make the database refuse to change or delete rows.

A guard is (trigger name, table, condition on OLD, what the row is). PostgreSQL gets one
trigger for UPDATE and DELETE. SQLite gets one for UPDATE (``install_guards``) and, since
migration inventory 0003, one for DELETE (``install_sqlite_delete_guards``, named
``<name>_no_delete``); Django's test flush, which empties SQLite tables with DELETE, lifts them
in the test suite only (tests/conftest.py).
"""

from collections.abc import Iterable

from django.db.backends.base.schema import BaseDatabaseSchemaEditor

# (trigger name, table, condition on OLD, what the row is)
Guard = tuple[str, str, str, str]


def _pg(name: str, table: str, condition: str, what: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}_guard() RETURNS trigger AS $$
BEGIN
    IF {condition} THEN
        RAISE EXCEPTION '{what} cannot be changed or deleted (% rejected)', TG_OP;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {name}_guard();
"""


def _sqlite(name: str, table: str, condition: str, what: str) -> str:
    return f"""
CREATE TRIGGER {name} BEFORE UPDATE ON {table} WHEN {condition.replace("TRUE", "1")}
BEGIN
    SELECT RAISE(ABORT, '{what} cannot be changed or deleted (UPDATE rejected)');
END;
"""


def install_guards(schema_editor: BaseDatabaseSchemaEditor, guards: Iterable[Guard]) -> None:
    vendor = schema_editor.connection.vendor
    for guard in guards:
        if vendor == "postgresql":
            schema_editor.execute(_pg(*guard), params=None)
        elif vendor == "sqlite":
            schema_editor.execute(_sqlite(*guard))


def remove_guards(schema_editor: BaseDatabaseSchemaEditor, guards: Iterable[Guard]) -> None:
    vendor = schema_editor.connection.vendor
    for name, table, _, _ in guards:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table};", params=None)
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}_guard();", params=None)
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name};")


def _sqlite_delete(name: str, table: str, condition: str, what: str) -> str:
    return f"""
CREATE TRIGGER {name}_no_delete BEFORE DELETE ON {table} WHEN {condition.replace("TRUE", "1")}
BEGIN
    SELECT RAISE(ABORT, '{what} cannot be changed or deleted (DELETE rejected)');
END;
"""


def install_sqlite_delete_guards(
    schema_editor: BaseDatabaseSchemaEditor, guards: Iterable[Guard]
) -> None:
    if schema_editor.connection.vendor == "sqlite":
        for guard in guards:
            schema_editor.execute(_sqlite_delete(*guard))


def remove_sqlite_delete_guards(
    schema_editor: BaseDatabaseSchemaEditor, guards: Iterable[Guard]
) -> None:
    if schema_editor.connection.vendor == "sqlite":
        for name, _, _, _ in guards:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}_no_delete;")
