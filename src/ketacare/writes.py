"""Where an action's rows go.

An action reads what it needs, checks it, and then builds its rows and its audit event. The
building is written once, against ``Writes``: the actions pass ``DATABASE`` (each row saved
through the ORM, each event appended by ``audit.record.record`` in the action's transaction);
the synthetic clinic's bulk path (``ketacare.dev.synth``) passes a writer that batches the same
rows and hashes the same events, so that a year of a clinic is written in minutes without a
second, hand-written copy of what each action writes (docs/decisions/0113).
"""

from typing import Any, Protocol, TypeVar

from django.db import models

from ketacare.actor import Actor
from ketacare.audit.record import record

M = TypeVar("M", bound=models.Model)


class Writes(Protocol):
    def add(self, obj: M) -> M:
        """Insert ``obj`` (its primary key is set afterwards) and return it."""
        ...

    def save(self, obj: models.Model, *fields: str) -> None:
        """Store the named fields of ``obj``, an existing row (attribute names: ``x_id`` for
        a foreign key set by id or by instance)."""
        ...

    def record(
        self,
        actor: Actor,
        action: str,
        *,
        obj: models.Model | None = None,
        object_type: str = "",
        patient: Any = None,
        changes: dict[str, Any] | None = None,
        clinic: Any = None,
    ) -> None:
        """Append the audit event, as ``audit.record.record`` does."""
        ...


class DatabaseWrites:
    """Each row through the ORM, in the caller's transaction."""

    def add(self, obj: M) -> M:
        obj.save(force_insert=True)
        return obj

    def save(self, obj: models.Model, *fields: str) -> None:
        obj.save(update_fields=fields)

    def record(
        self,
        actor: Actor,
        action: str,
        *,
        obj: models.Model | None = None,
        object_type: str = "",
        patient: Any = None,
        changes: dict[str, Any] | None = None,
        clinic: Any = None,
    ) -> None:
        record(
            actor,
            action,
            obj=obj,
            object_type=object_type,
            patient=patient,
            changes=changes,
            clinic=clinic,
        )


DATABASE = DatabaseWrites()
