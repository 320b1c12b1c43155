"""Pre-treatment evaluation, the eligibility decision and the treatment plan.

Signed evaluations and plans, addenda and overrides are never changed: the database refuses
it (migration 0002), so a bug or a hand-written query cannot rewrite a signed record.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from ketacare.accounts.models import Clinic
from ketacare.clinical.protocols.library import get_protocol
from ketacare.patients.models import Patient

STAFF = settings.AUTH_USER_MODEL


class Evaluation(models.Model):
    """A structured pre-treatment evaluation: in progress → completed → signed.

    ``answers`` holds the eligibility layout flattened to dotted paths
    (``"medical.recent_mi_or_stroke": false``); a path that is absent has not been answered
    yet, a null one is a screen recorded as not done."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed, awaiting signature"
        SIGNED = "signed", "Signed"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="evaluations")
    # Kept on the row so clinic work lists need no join through patients.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=12, choices=State.choices, default=State.IN_PROGRESS)
    answers = models.JSONField(default=dict)
    notes = models.TextField(blank=True)
    # Filled when the evaluation is completed: what it was judged on.
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True)
    height_cm = models.DecimalField(max_digits=5, decimal_places=1, null=True)
    weight_measured_on = models.DateField(null=True)
    baseline_scores = models.JSONField(default=list)
    verdicts = models.JSONField(default=dict)
    rules_version = models.CharField(max_length=30, blank=True)
    created_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    completed_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, null=True, related_name="+")
    completed_at = models.DateTimeField(null=True)
    signed_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, null=True, related_name="+")
    signed_at = models.DateTimeField(null=True)
    digest = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [models.Index(fields=["clinic", "state"])]

    @property
    def version(self) -> str:
        """Changes on every save; the edit form carries it to detect lost updates."""
        return self.updated_at.isoformat() if self.updated_at else ""

    @property
    def is_signed(self) -> bool:
        return self.state == self.State.SIGNED


class EvaluationAddendum(models.Model):
    """A signed amendment to a signed evaluation: a note and, when answers changed, the
    changes and the verdicts they lead to."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="addenda")
    note = models.TextField()
    changes = models.JSONField(default=dict)
    verdicts = models.JSONField(default=dict)
    author = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]


class EligibilityOverride(models.Model):
    """A prescriber's decision to treat by a route the rules excluded or held for clearance.
    It covers the rules that had fired (``fired_rule_ids``); a rule that fires later (from an
    addendum) is not covered and needs its own decision."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="overrides")
    route = models.CharField(max_length=30)
    original_verdict = models.CharField(max_length=20)
    fired_rule_ids = models.JSONField(default=list)
    reason = models.TextField()
    prescriber = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]


class TreatmentPlan(models.Model):
    """Patient + protocol version + starting dose + induction schedule + the eligibility
    result it rests on. Sessions can be scheduled only under a signed plan."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft, awaiting signature"
        SIGNED = "signed", "Signed"
        DISCARDED = "discarded", "Draft discarded"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="plans")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="plans")
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    protocol_id = models.CharField(max_length=40)
    protocol_version = models.CharField(max_length=30)
    # mg/kg for a weight-based protocol, mg for a fixed-dose one (see dose_unit).
    prescribed_dose = models.DecimalField(max_digits=6, decimal_places=2)
    dose_unit = models.CharField(max_length=8)
    use_adjusted_weight = models.BooleanField(default=False)
    vial_mg_per_ml = models.DecimalField(max_digits=6, decimal_places=1, null=True)
    infusion_minutes = models.PositiveSmallIntegerField(null=True)
    dose_order = models.JSONField(default=dict)
    start_date = models.DateField()
    # The induction dates as signed; PlannedSession rows are the working copy that moves.
    signed_schedule = models.JSONField(default=list)
    eligibility = models.JSONField(default=dict)
    override = models.ForeignKey(
        EligibilityOverride, on_delete=models.PROTECT, null=True, related_name="+"
    )
    discard_reason = models.TextField(blank=True)
    # Why the prescriber signed without a current treatment consent (empty: there was one).
    consent_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    signed_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, null=True, related_name="+")
    signed_at = models.DateTimeField(null=True)
    digest = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [models.Index(fields=["clinic", "state"])]

    @property
    def is_signed(self) -> bool:
        return self.state == self.State.SIGNED

    @property
    def protocol_name(self) -> str:
        return get_protocol(self.protocol_id).name


class PlannedSession(models.Model):
    """One induction session of a signed plan. Dates move (rescheduling re-flows the later
    ones); each move is audited."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="sessions")
    number = models.PositiveSmallIntegerField()
    date = models.DateField()

    class Meta:
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="one_session_per_number")
        ]


class RulePolicyChange(models.Model):
    """A clinic's change to one clinic-policy eligibility rule (never a label rule): disabled
    (``{"enabled": false}``), new thresholds (``{"thresholds": {"vitals.systolic": 150}}``),
    or back to the rules file (``{}``). Append-only: the latest change per rule is in force,
    and the history shows who changed what and why."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    rule_id = models.CharField(max_length=80)
    change = models.JSONField(default=dict)
    reason = models.TextField()
    author = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "rule_id", "created_at"])]
