from django.conf import settings
from django.db import models
from django.utils import timezone

from ketacare.accounts.models import Clinic
from ketacare.patients.search import normalize_name

# The fields staff edit on the patient form (the rest are generated or derived).
DEMOGRAPHIC_FIELDS = [
    "given_name",
    "family_name",
    "date_of_birth",
    "sex_at_birth",
    "gender_identity",
    "phone",
    "email",
    "address",
    "emergency_contact_name",
    "emergency_contact_relationship",
    "emergency_contact_phone",
    "allergies",
    "current_medications",
]


class Patient(models.Model):
    class SexAtBirth(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        INTERSEX = "intersex", "Intersex"
        UNKNOWN = "unknown", "Unknown / not recorded"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=16, editable=False)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex_at_birth = models.CharField(max_length=10, choices=SexAtBirth.choices)
    gender_identity = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_relationship = models.CharField(max_length=100, blank=True)
    emergency_contact_phone = models.CharField(max_length=30, blank=True)
    allergies = models.TextField(
        blank=True, help_text="Substance and reaction, one per line. Write NKDA if none known."
    )
    current_medications = models.TextField(blank=True, help_text="Name, dose, frequency.")
    # Derived keys for indexed prefix search (see search.py); kept in step by save().
    search_family = models.CharField(max_length=100, editable=False)
    search_given = models.CharField(max_length=100, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "mrn"], name="mrn_unique_per_clinic"),
        ]
        indexes = [
            models.Index(fields=["clinic", "search_family", "search_given"]),
            models.Index(fields=["clinic", "search_given"]),
            models.Index(fields=["clinic", "date_of_birth"]),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    @property
    def version(self) -> str:
        """Changes whenever the record is saved; edit forms carry it to detect lost updates."""
        return self.updated_at.isoformat() if self.updated_at else ""

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.search_family = normalize_name(self.family_name)
        self.search_given = normalize_name(self.given_name)
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class BodyMeasurement(models.Model):
    """Weight (and height, when measured) on a date. History is kept; the latest is used."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="measurements")
    measured_on = models.DateField()
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1)
    height_cm = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-measured_on", "-recorded_at"]


class ConsentRecord(models.Model):
    """A consent given or withdrawn. Never edited: a withdrawal is a new record."""

    class Kind(models.TextChoices):
        TREATMENT_KETAMINE = "treatment_ketamine", "Ketamine treatment"
        TREATMENT_ESKETAMINE = "treatment_esketamine", "Esketamine treatment"
        REMS_ENROLLMENT = "rems_enrollment", "Esketamine REMS patient enrollment"
        MEASUREMENT_LINKS = "measurement_links", "Questionnaires by text/email link"
        RESEARCH_REGISTRY = "research_registry", "De-identified research registry"

    class Decision(models.TextChoices):
        GRANTED = "granted", "Granted"
        WITHDRAWN = "withdrawn", "Withdrawn"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    version = models.CharField(max_length=30, help_text="Version of the consent form signed.")
    decision = models.CharField(max_length=10, choices=Decision.choices, default="granted")
    signed_at = models.DateTimeField()
    signed_by = models.CharField(
        max_length=200, help_text="Who signed: the patient, or a legal representative by name."
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-signed_at", "-id"]
