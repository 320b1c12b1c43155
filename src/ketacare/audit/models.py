from django.conf import settings
from django.db import models

from ketacare.audit.chain import event_digest


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: object) -> int:
        raise AppendOnlyError("Audit events cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """One thing that happened: who, as which role, when (UTC), to what, from where.

    Append-only: the model refuses updates and deletes, and the database rejects them with a
    trigger. ``hash`` chains each event to the one before it (see ``chain.py``).
    """

    class Action(models.TextChoices):
        CREATE = "create"
        UPDATE = "update"
        DELETE = "delete"
        VIEW = "view"
        SEARCH = "search"
        EXPORT = "export"
        LOGIN = "login"
        LOGIN_FAILED = "login_failed"
        LOGOUT = "logout"
        SIGN = "sign"
        OVERRIDE = "override"

    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_username = models.CharField(max_length=150)
    role = models.CharField(max_length=20, blank=True)
    clinic = models.ForeignKey(
        "accounts.Clinic", null=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    patient = models.ForeignKey(
        "patients.Patient", null=True, on_delete=models.PROTECT, related_name="+"
    )
    ip = models.GenericIPAddressField(null=True)
    # For updates: {field: {"old": ..., "new": ...}}; for searches: {"query": ...}.
    changes = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        # Related-object access and internal deletes go through the guarded queryset too.
        base_manager_name = "objects"
        indexes = [
            models.Index(fields=["clinic", "-occurred_at"]),
            models.Index(fields=["patient", "-occurred_at"]),
            models.Index(fields=["actor", "-occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.actor_username} {self.action} {self.object_type} {self.object_id}"

    def content(self) -> dict[str, object]:
        """Everything the digest covers, except the link to the previous event."""
        return {
            "occurred_at": self.occurred_at,
            "actor_id": self.actor_id,
            "actor_username": self.actor_username,
            "role": self.role,
            "clinic_id": self.clinic_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "patient_id": self.patient_id,
            "ip": self.ip,
            "changes": self.changes,
        }

    def change_lines(self) -> list[tuple[str, str]]:
        """The recorded changes as (field, "old → new") pairs for display."""
        lines = []
        for field, change in self.changes.items():
            if isinstance(change, dict) and set(change) <= {"old", "new"}:
                old, new = change.get("old"), change.get("new")
                lines.append((field, f"{old} → {new}" if old not in (None, "") else str(new)))
            else:
                lines.append((field, str(change)))
        return lines

    def compute_hash(self) -> str:
        return event_digest(self.content(), self.prev_hash)

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be updated.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")


class ChainHead(models.Model):
    """The newest event's id and hash, one row. Locking it serializes writers, and comparing it
    with the last event reveals events removed from the end of the log."""

    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    event_count = models.BigIntegerField(default=0)
