from typing import Any

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.core.management.color import no_style
from django.db import connections
from django.db.migrations.state import StateApps
from django.db.models.signals import post_migrate

INSTALLATION = 1  # ChainHead.INSTALLATION, not imported: models cannot load before the apps


def installation_head(using: str = "default", apps: StateApps | None = None, **kwargs: Any) -> None:
    """The installation's chain head holds pk 1 (migration audit 0003). A database emptied by
    ``flush`` (as between transactional tests) loses it, and a clinic's first event would then
    take pk 1 and with it every event of no clinic; Django sends ``post_migrate`` after a flush
    as after a migration, so the row is made again before any event."""
    from ketacare.audit.chain import GENESIS_HASH

    try:
        # The model as the migrations have left it (none after `migrate audit zero`).
        head = (apps or global_apps).get_model("audit", "ChainHead")
    except LookupError:
        return
    _, created = head.objects.using(using).get_or_create(
        pk=INSTALLATION, defaults={"last_hash": GENESIS_HASH}
    )
    if created:
        # An explicit pk leaves PostgreSQL's id sequence where it was (at its start after a
        # flush that restarts it): set it past pk 1, as migration 0007 does, or the next
        # clinic's head would collide with the installation's.
        connection = connections[using]
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), [head]):
                cursor.execute(statement)


class AuditConfig(AppConfig):
    name = "ketacare.audit"
    label = "audit"

    def ready(self) -> None:
        from ketacare.audit import checks  # noqa: F401  (registers the audit key check)

        post_migrate.connect(installation_head, sender=self)
