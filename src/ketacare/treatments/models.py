"""The dosing day: a treatment session under a signed plan, its observations, alerts, adverse
events and dose steps. Observations, dose steps and adverse events are append-only; a
session moves forward only (``STATE_ORDER``) and is locked once discharged."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from ketacare.accounts.models import Clinic
from ketacare.patients.models import Patient
from ketacare.planning.models import PlannedSession, TreatmentPlan

STAFF = settings.AUTH_USER_MODEL


class TreatmentSession(models.Model):
    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CHECKED_IN = "checked_in", "Checked in"
        DOSING = "dosing", "Dosing"
        MONITORING = "monitoring", "Monitoring"
        DISCHARGED = "discharged", "Discharged"
        TRANSFERRED = "transferred", "Transferred to emergency care"
        CANCELLED = "cancelled", "Cancelled"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="sessions")
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="+")
    planned = models.OneToOneField(
        PlannedSession, on_delete=models.PROTECT, related_name="treatment"
    )
    date = models.DateField()
    chair = models.CharField(max_length=40)
    state = models.CharField(max_length=12, choices=State.choices, default=State.SCHEDULED)
    checklist = models.JSONField(default=dict)
    checked_in_at = models.DateTimeField(null=True)
    checked_in_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, null=True, related_name="+")
    # The pre-dose gate: the checks that fired on the last pre-dose vitals, and a prescriber's
    # decision to dose anyway.
    gate_fired = models.JSONField(default=list)
    gate_checked_at = models.DateTimeField(null=True)
    gate_override_by = models.ForeignKey(
        STAFF, on_delete=models.PROTECT, null=True, related_name="+"
    )
    gate_override_reason = models.TextField(blank=True)
    gate_override_at = models.DateTimeField(null=True)
    # How the gate went (clinical.session.gate): when it first stopped dosing, whether a severe
    # reading left it to a prescriber, and when a repeat reading after rest reopened it.
    gate_stopped_at = models.DateTimeField(null=True)
    gate_severe = models.BooleanField(default=False)
    gate_cleared_at = models.DateTimeField(null=True)
    dose_mg = models.DecimalField(max_digits=7, decimal_places=2, null=True)
    dose_change_reason = models.TextField(blank=True)
    dose_changed_by = models.ForeignKey(
        STAFF, on_delete=models.PROTECT, null=True, related_name="+"
    )
    dispense = models.OneToOneField(
        "inventory.LedgerEntry", on_delete=models.PROTECT, null=True, related_name="session"
    )
    dose_started_at = models.DateTimeField(null=True)
    dose_ended_at = models.DateTimeField(null=True)
    dissociation_resolved = models.BooleanField(default=False)
    responsible_adult_present = models.BooleanField(default=False)
    discharged_at = models.DateTimeField(null=True)
    discharged_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, null=True, related_name="+")
    # The first moment from which every discharge criterion about the patient held (time,
    # vital signs, alerts), kept as it happens for the REMS form; cleared if one fails again.
    ready_at = models.DateTimeField(null=True)
    # A dosed patient sent to emergency care instead of home.
    transferred_at = models.DateTimeField(null=True)
    transferred_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, null=True, related_name="+")
    transfer_decided_by = models.ForeignKey(
        STAFF, on_delete=models.PROTECT, null=True, related_name="+"
    )
    transfer_destination = models.CharField(max_length=200, blank=True)
    transfer_reason = models.TextField(blank=True)
    note = models.TextField(blank=True)
    cancel_reason = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [models.Index(fields=["clinic", "date", "state"])]

    @property
    def ended(self) -> bool:
        """Discharged or transferred: monitoring is over and the note is locked."""
        return self.state in ENDED

    @property
    def ended_at(self) -> datetime | None:
        return self.discharged_at or self.transferred_at

    @property
    def gate_open(self) -> bool:
        """Dosing may start: the last pre-dose vitals passed, or a prescriber overrode."""
        return self.gate_checked_at is not None and (
            not self.gate_fired or self.gate_override_by_id is not None
        )


STATE_ORDER = [
    TreatmentSession.State.SCHEDULED,
    TreatmentSession.State.CHECKED_IN,
    TreatmentSession.State.DOSING,
    TreatmentSession.State.MONITORING,
    TreatmentSession.State.DISCHARGED,
    TreatmentSession.State.TRANSFERRED,
]
ENDED = (TreatmentSession.State.DISCHARGED, TreatmentSession.State.TRANSFERRED)


class Observation(models.Model):
    """Vital signs and scores at one time. Never edited: a correction is a new observation."""

    class Phase(models.TextChoices):
        PRE_DOSE = "pre_dose", "Before dosing"
        MONITORING = "monitoring", "Monitoring"

    session = models.ForeignKey(
        TreatmentSession, on_delete=models.PROTECT, related_name="observations"
    )
    phase = models.CharField(max_length=12, choices=Phase.choices)
    taken_at = models.DateTimeField()
    systolic = models.PositiveSmallIntegerField(null=True)
    diastolic = models.PositiveSmallIntegerField(null=True)
    heart_rate = models.PositiveSmallIntegerField(null=True)
    spo2 = models.PositiveSmallIntegerField(null=True)
    respiratory_rate = models.PositiveSmallIntegerField(null=True)
    moaas = models.PositiveSmallIntegerField(null=True)
    cadss = models.PositiveSmallIntegerField(null=True)
    # A pre-dose reading's verdict at the gate as it was recorded: the checks it fired, whether
    # it counted (a passing repeat too soon after a stop does not) and why.
    gate = models.JSONField(default=dict)
    recorded_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["taken_at", "id"]


class DoseStep(models.Model):
    """One step of the administration: a nasal device, an infusion start, a rate change, a
    pause, a restart, the end; or the injection."""

    class Kind(models.TextChoices):
        DEVICE = "device", "Nasal device"
        INJECTION = "injection", "Injection"
        INFUSION_START = "infusion_start", "Infusion started"
        RATE_CHANGE = "rate_change", "Rate changed"
        PAUSE = "pause", "Infusion paused"
        RESUME = "resume", "Infusion resumed"
        INFUSION_END = "infusion_end", "Infusion ended"

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="steps")
    kind = models.CharField(max_length=15, choices=Kind.choices)
    at = models.DateTimeField()
    rate_ml_per_h = models.DecimalField(max_digits=6, decimal_places=1, null=True)
    note = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["at", "id"]


class SessionAlert(models.Model):
    """A value outside a monitoring threshold. Open until a prescriber acknowledges it."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="alerts")
    observation = models.ForeignKey(Observation, on_delete=models.PROTECT, related_name="+")
    check_id = models.CharField(max_length=60)
    message = models.CharField(max_length=300)
    source = models.TextField()
    values = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    acknowledged_by = models.ForeignKey(
        STAFF, on_delete=models.PROTECT, null=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True)
    acknowledgement_note = models.TextField(blank=True)


class AdverseEvent(models.Model):
    class Kind(models.TextChoices):
        NAUSEA = "nausea", "Nausea"
        VOMITING = "vomiting", "Vomiting"
        HEADACHE = "headache", "Headache"
        HYPERTENSION = "hypertension", "Hypertension"
        TACHYCARDIA = "tachycardia", "Tachycardia"
        EMERGENCE = "emergence", "Anxiety / emergence reaction"
        DESATURATION = "desaturation", "Desaturation"
        OTHER = "other", "Other"

    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"

    session = models.ForeignKey(
        TreatmentSession, on_delete=models.PROTECT, related_name="adverse_events"
    )
    kind = models.CharField(max_length=15, choices=Kind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    # Seriousness in the regulatory sense (clinical/data/adverse_events.toml), not intensity.
    serious_criteria = models.JSONField(default=list)
    occurred_at = models.DateTimeField()
    description = models.CharField(max_length=300, blank=True)
    intervention = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    @property
    def serious(self) -> bool:
        return bool(self.serious_criteria)


class RemsSubmission(models.Model):
    """Staff submitted the esketamine REMS Patient Monitoring Form of a session on the REMS
    portal: who said so, when, and the portal's confirmation reference. Never changed."""

    session = models.OneToOneField(
        TreatmentSession, on_delete=models.PROTECT, related_name="rems_submission"
    )
    submitted_at = models.DateTimeField()
    submitted_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=100)
