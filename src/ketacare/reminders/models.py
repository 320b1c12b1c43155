"""The reminders' records: a clinic's own reminder policy, one delivery row per reminder and
channel, and the patients' opt-outs (append-only: the latest row per channel decides).

Timestamps come from the actor's clock (docs/decisions/0107), never ``auto_now``."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from ketacare.accounts.models import Clinic
from ketacare.patients.models import Patient
from ketacare.scheduling.models import Appointment


class Channel(models.TextChoices):
    SMS = "sms", "Text message"
    EMAIL = "email", "Email"


class ReminderSettings(models.Model):
    """A clinic's change to the default reminder policy (``data/reminders.toml``). Without a
    row the defaults apply."""

    clinic = models.OneToOneField(Clinic, on_delete=models.PROTECT, related_name="+")
    lead_hours = models.JSONField()  # e.g. [48, 2]
    channels = models.JSONField()  # Channel values
    late_cancel_hours = models.PositiveSmallIntegerField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"reminders {self.lead_hours} h by {self.channels}"


class Delivery(models.Model):
    """One reminder of one appointment at one lead time by one channel: sent, failed (the
    next run tries again), or skipped (why in ``detail``). One row per (appointment, the start
    it reminds of, lead, channel), written in the transaction that sends, so no reminder goes
    out twice; an appointment moved to another time is reminded of its new time."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, related_name="reminder_deliveries"
    )
    # The appointment's start when reminded (it may move afterwards).
    start = models.DateTimeField()
    lead_hours = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=8, choices=Channel.choices)
    status = models.CharField(max_length=8, choices=Status.choices)
    # Why skipped ("opted out", "no phone number"), or the provider's error (no patient data).
    detail = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "start", "lead_hours", "channel"],
                name="one_reminder_per_lead",
            )
        ]
        indexes = [models.Index(fields=["clinic", "-updated_at"])]

    def __str__(self) -> str:
        return f"{self.lead_hours} h {self.channel}: {self.status}"


class OptOut(models.Model):
    """A patient stopped (or started again) reminders by one channel: by texting STOP or
    START, or on the reminder link's page. Append-only; the latest row per channel holds."""

    class Source(models.TextChoices):
        SMS_KEYWORD = "sms_keyword", "Text message keyword"
        LINK = "link", "Reminder link"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    stopped = models.BooleanField()
    source = models.CharField(max_length=12, choices=Source.choices)
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["recorded_at", "id"]
        indexes = [models.Index(fields=["patient", "channel", "recorded_at"])]

    def __str__(self) -> str:
        return f"{self.channel} {'stopped' if self.stopped else 'started'} at {self.recorded_at}"
