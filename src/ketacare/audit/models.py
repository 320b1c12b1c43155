from django.conf import settings
from django.db import models

from ketacare.audit.chain import event_digest, legacy_event_digest


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
    trigger. ``hash`` chains each event to the one before it in its clinic's chain (see
    ``chain.py``; events with no clinic, and every event from before per-clinic chains, are
    on the installation's chain).
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
            models.Index(fields=["clinic", "id"]),  # a clinic's chain, in order
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

    def legacy_hash(self) -> str:
        """The unkeyed digest of events written before keyed chains."""
        return legacy_event_digest(self.content(), self.prev_hash)

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be updated.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")


class ChainHead(models.Model):
    """The head of one audit chain: its newest event's id and hash and how many events it
    holds. One chain per clinic, so that chart views at different clinics do not queue for one
    lock; the installation's chain (pk 1, no clinic) takes events of no clinic (system events,
    failed sign-ins of unknown names) and every event written before chains were per clinic.
    Locking the row serializes the chain's writers; comparing it with the chain's last event
    reveals events removed from the end (and a checkpoint reveals a head rewound with them).

    ``legacy_*``: where the unkeyed (SHA-256) events of the installation's chain end, sealed
    with the audit key by migration audit 0007; empty on installations that began keyed."""

    INSTALLATION = 1

    clinic = models.OneToOneField(
        "accounts.Clinic", null=True, on_delete=models.PROTECT, related_name="+"
    )
    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    event_count = models.BigIntegerField(default=0)
    legacy_event_id = models.BigIntegerField(null=True)
    legacy_hash = models.CharField(max_length=64, blank=True, default="")
    legacy_seal = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(clinic__isnull=False) | models.Q(pk=1),
                name="audit_chain_of_a_clinic_or_the_installation",
            )
        ]

    @property
    def name(self) -> str:
        """The chain's name in checkpoints: "installation" or "clinic:<id>"."""
        return "installation" if self.clinic_id is None else f"clinic:{self.clinic_id}"

    def describe(self) -> str:
        if self.clinic_id is None:
            return "The installation's audit chain"
        return f"The audit chain of clinic {self.clinic_id}"
