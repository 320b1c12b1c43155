"""The appointment book's records. Every row a clinic owns carries its clinic; times are
aware datetimes (stored in UTC), opening hours are wall-clock times in the clinic's zone.

Timestamps are set by the actions from the actor's clock (docs/decisions/0107), never by
``auto_now``. ``AppointmentChange`` is append-only: the database refuses to change or delete
one (migration 0002)."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from ketacare.accounts.models import Clinic
from ketacare.patients.models import Patient
from ketacare.planning.models import PlannedSession
from ketacare.treatments.models import TreatmentSession

STAFF = settings.AUTH_USER_MODEL

# No appointment, shift or closure is longer than this: a typo in a date (a year instead of
# a day) is refused rather than blocking a chair for months; and a query for what overlaps a
# stretch of time can bound its start from below (``scheduling.context``).
LONGEST = {"appointment": timedelta(hours=12), "shift": timedelta(hours=24)}


class Capability(models.TextChoices):
    """What a chair can host: an IV pump for an infusion, the space and monitoring for a
    nasal spray."""

    IV_PUMP = "iv_pump", "IV pump"
    NASAL_SPRAY = "nasal_spray", "Nasal spray"


class Chair(models.Model):
    """A treatment chair or room: the clinic's capacity. Retired chairs stay (inactive) so
    that past appointments keep naming them."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=40)
    # A list of Capability values.
    capabilities = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["clinic", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="one_chair_name_per_clinic")
        ]

    def __str__(self) -> str:
        return self.name


class OpeningHours(models.Model):
    """When the clinic is open on one weekday (0 = Monday … 6 = Sunday), in its own time
    zone. A weekday without a row is closed, once the clinic has set any hours."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    weekday = models.PositiveSmallIntegerField()
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["clinic", "weekday"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "weekday"], name="one_hours_per_weekday")
        ]

    def __str__(self) -> str:
        return f"weekday {self.weekday}: {self.opens:%H:%M}–{self.closes:%H:%M}"


class Closure(models.Model):
    """The clinic (no chair) or one chair closed from ``start`` to ``end``: maintenance, a
    holiday. Adding one moves the appointments it covers to "needs rebooking"."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    chair = models.ForeignKey(Chair, on_delete=models.PROTECT, null=True, related_name="closures")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.TextField()
    created_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["start", "id"]
        indexes = [models.Index(fields=["clinic", "start"])]

    def __str__(self) -> str:
        return f"{self.chair or 'clinic'} closed {self.start:%Y-%m-%d %H:%M}: {self.reason}"


class Shift(models.Model):
    """A staff member on site from ``start`` to ``end``, in the role they hold at the
    clinic (who can prescribe, who monitors)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=20)
    start = models.DateTimeField()
    end = models.DateTimeField()
    created_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["start", "id"]
        indexes = [models.Index(fields=["clinic", "start"])]

    def __str__(self) -> str:
        return f"{self.staff} ({self.role}) {self.start:%Y-%m-%d %H:%M}–{self.end:%H:%M}"


class Authorisation(models.Model):
    """A payer's approval of a number of sessions between two dates (a simple record; a
    prior-authorisation workflow comes later)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="authorisations")
    payer = models.CharField(max_length=120)
    reference = models.CharField(max_length=60)
    approved_sessions = models.PositiveSmallIntegerField()
    valid_from = models.DateField()
    valid_to = models.DateField()
    recorded_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-valid_from", "-id"]

    def __str__(self) -> str:
        return f"{self.payer} {self.reference} ({self.approved_sessions} sessions)"


class Appointment(models.Model):
    """One booked time for a patient: in a chair (none for telehealth), with a staff member.
    Every change of time, chair or state is kept in ``changes``."""

    class Kind(models.TextChoices):
        EVALUATION = "evaluation", "Evaluation"
        DOSING = "dosing", "Dosing session"
        FOLLOW_UP = "follow_up", "Follow-up"
        TELEHEALTH = "telehealth", "Telehealth"

    class State(models.TextChoices):
        BOOKED = "booked", "Booked"
        CONFIRMED = "confirmed", "Confirmed"
        ARRIVED = "arrived", "Arrived"
        NO_SHOW = "no_show", "No-show"
        CANCELLED = "cancelled", "Cancelled"
        NEEDS_REBOOKING = "needs_rebooking", "Needs rebooking"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    chair = models.ForeignKey(
        Chair, on_delete=models.PROTECT, null=True, related_name="appointments"
    )
    staff = models.ForeignKey(STAFF, on_delete=models.PROTECT, null=True, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.BOOKED)
    # A dosing appointment is the planned session of a signed plan, and on its day the
    # chair board's session.
    planned = models.ForeignKey(
        PlannedSession, on_delete=models.PROTECT, null=True, related_name="appointments"
    )
    treatment = models.ForeignKey(
        TreatmentSession, on_delete=models.PROTECT, null=True, related_name="appointments"
    )
    # Whether someone will take the patient home: a dosing session's gate ("tomorrow"
    # checklist), recorded at booking or when the coordinator calls the patient.
    transport_arranged = models.BooleanField(default=False)
    created_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    # The states in which an appointment holds its chair.
    HOLDING = (State.BOOKED, State.CONFIRMED, State.ARRIVED)
    # The states from which it can be moved to another time.
    MOVABLE = (State.BOOKED, State.CONFIRMED, State.NEEDS_REBOOKING)

    class Meta:
        ordering = ["start", "id"]
        indexes = [
            models.Index(fields=["clinic", "start"]),
            models.Index(fields=["chair", "start"]),
            models.Index(fields=["clinic", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.start:%Y-%m-%d %H:%M} ({self.get_state_display()})"


class AppointmentChange(models.Model):
    """One change to an appointment — booked, moved, confirmed, cancelled … — with who made
    it, when and why. Append-only: the appointment's history."""

    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="changes")
    changed_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, null=True, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now, editable=False)
    old_state = models.CharField(max_length=16, blank=True)
    new_state = models.CharField(max_length=16)
    old_start = models.DateTimeField(null=True)
    new_start = models.DateTimeField()
    old_end = models.DateTimeField(null=True)
    new_end = models.DateTimeField()
    old_chair = models.ForeignKey(Chair, on_delete=models.PROTECT, null=True, related_name="+")
    new_chair = models.ForeignKey(Chair, on_delete=models.PROTECT, null=True, related_name="+")
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.old_state or 'new'} → {self.new_state} at {self.changed_at:%Y-%m-%d %H:%M}"


class CalendarFeed(models.Model):
    """A staff member's private iCalendar feed of their appointments at one clinic. Only a
    digest of the token is kept (like a password): the URL is shown once, when it is made,
    and making a new one ("rotate") is what stops the old URL working."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    # SHA-256 of the token, hex: a random 256-bit token needs no slow hash.
    token_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "staff"], name="one_feed_per_staff_member")
        ]

    def __str__(self) -> str:
        return f"calendar feed of {self.staff} since {self.created_at:%Y-%m-%d}"
