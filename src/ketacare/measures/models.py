import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from ketacare.clinical.instruments import INSTRUMENT_IDS
from ketacare.clinical.safety import Signal, recorded_signal
from ketacare.patients.models import Patient

INSTRUMENT_CHOICES = [(i, i) for i in INSTRUMENT_IDS]


def new_public_id() -> str:
    return secrets.token_urlsafe(18)


class Assignment(models.Model):
    """An instrument a patient is asked to complete, once or on a schedule."""

    class Schedule(models.TextChoices):
        ONCE = "once", "Once"
        BEFORE_SESSION = "before_session", "Before every treatment session"
        WEEKLY = "weekly", "Weekly"
        EVERY_N_DAYS = "every_n_days", "Every N days"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="assignments")
    instrument_id = models.CharField(max_length=30, choices=INSTRUMENT_CHOICES)
    schedule = models.CharField(max_length=20, choices=Schedule.choices)
    every_days = models.PositiveSmallIntegerField(null=True, blank=True)
    starts_on = models.DateField()
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Why the scheduled dispatch could not send the due questionnaire (a code from
    # measures.contact), kept until a link goes out, so the measures page can say so and the
    # audit trail records each new reason once rather than on every run.
    not_sent_reason = models.CharField(max_length=40, blank=True)
    not_sent_since = models.DateTimeField(null=True, blank=True)


class PatientLink(models.Model):
    """A single-use, expiring link that lets a patient answer one questionnaire without an
    account. The URL carries a signed ``public_id``; nothing in it identifies the patient."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"
        IN_CLINIC = "in_clinic", "Shown in clinic (no message sent)"
        PORTAL = "portal", "Opened in the patient portal (no message sent)"

    # Channels that send nothing: the patient answers on a clinic device or signed in to the
    # portal, so no consent to be texted or emailed is needed, and no reminder goes out.
    SILENT = frozenset({Channel.IN_CLINIC, Channel.PORTAL})

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="links")
    instrument_id = models.CharField(max_length=30, choices=INSTRUMENT_CHOICES)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    # Why its one reminder was not sent (a code from measures.contact); it is not tried again.
    reminder_not_sent = models.CharField(max_length=40, blank=True)


class QuestionnaireResponse(models.Model):
    """One completed questionnaire with its score, as scored when it was saved. Never edited."""

    class Source(models.TextChoices):
        PATIENT_LINK = "patient_link", "Patient, by link"
        STAFF = "staff", "Entered by staff"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="responses")
    instrument_id = models.CharField(max_length=30, choices=INSTRUMENT_CHOICES)
    instrument_version = models.CharField(max_length=20)
    answers = models.JSONField()
    total = models.IntegerField(null=True)
    severity = models.CharField(max_length=30, blank=True)
    flags = models.JSONField(default=list)
    subscales = models.JSONField(default=dict)
    completed_at = models.DateTimeField()
    source = models.CharField(max_length=20, choices=Source.choices)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    link = models.OneToOneField(
        PatientLink, on_delete=models.PROTECT, null=True, related_name="response"
    )

    class Meta:
        indexes = [models.Index(fields=["patient", "instrument_id", "completed_at"])]


class SafetyAlert(models.Model):
    """A safety signal from a response (e.g. PHQ-9 item 9 > 0, QIDS-SR16 item 12 >= 1). Open
    until a prescriber acknowledges it with a note. Which instrument and item raised it is in
    its ``rule`` and, with the answer given, in ``signal`` (read from its response)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="safety_alerts")
    # The patient's clinic, kept on the alert: every page of staff who handle alerts counts the
    # open ones, and that count must not have to join through the patients table.
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    response = models.ForeignKey(
        QuestionnaireResponse, on_delete=models.PROTECT, related_name="alerts"
    )
    flag = models.CharField(max_length=40)
    rule = models.CharField(max_length=300)
    source = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_note = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["patient", "acknowledged_at"]),
            models.Index(fields=["clinic", "acknowledged_at"]),
        ]

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None

    @property
    def signal(self) -> Signal:
        """The rule as recorded, and the instrument, item and answer that met it."""
        response = self.response
        return recorded_signal(
            response.instrument_id, self.flag, self.rule, self.source, response.answers
        )

    @property
    def finding(self) -> str:
        """E.g. "QIDS-SR16 item 12 (thoughts of death or suicide) = 2 on 2026-12-05"."""
        day = timezone.localdate(self.response.completed_at)
        return f"{self.signal.finding} on {day.isoformat()}"
