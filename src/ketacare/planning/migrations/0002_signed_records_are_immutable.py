"""Make the database refuse to change a signed evaluation or plan, an addendum or an override.

PostgreSQL refuses UPDATE and DELETE; SQLite refuses UPDATE, and leaves DELETE to PROTECT
foreign keys because Django's test flush empties SQLite tables with DELETE (as for the audit
log, migration audit 0002).
"""

from django.db import migrations

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


def _pg(name: str, table: str, condition: str, what: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}_guard() RETURNS trigger AS $$
BEGIN
    IF {condition} THEN
        RAISE EXCEPTION '{what} cannot be changed or deleted (% rejected); add an addendum', TG_OP;
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
    SELECT RAISE(ABORT, '{what} cannot be changed or deleted (UPDATE rejected); add an addendum');
END;
"""


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for guard in GUARDS:
        if vendor == "postgresql":
            schema_editor.execute(_pg(*guard), params=None)
        elif vendor == "sqlite":
            schema_editor.execute(_sqlite(*guard))


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for name, table, _, _ in GUARDS:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table};", params=None)
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}_guard();", params=None)
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name};")


class Migration(migrations.Migration):
    dependencies = [("planning", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
