from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from ketacare.accounts.hashers import MachineSecretHasher
from ketacare.accounts.permissions import Role


class Clinic(models.Model):
    """A site. One deployment can hold several; staff see only their clinics' patients."""

    name = models.CharField(max_length=200, unique=True)
    # Next MRN sequence number; incremented under the row lock when a patient is created.
    mrn_counter = models.PositiveIntegerField(default=0)
    # The weekdays the clinic treats on (0 = Monday … 6 = Sunday): schedules use only these.
    treatment_days = models.CharField(max_length=7, default="01234")
    # Printed on the REMS Patient Monitoring Form and in messages to staff.
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    # Who is told at once (email/SMS) when a patient's safety alert opens.
    on_call_prescriber = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.SET_NULL, related_name="on_call_for"
    )
    # IANA name (e.g. "America/Chicago") of the zone its opening hours are in; empty: the
    # installation's TIME_ZONE. A wall-clock time becomes a moment in this zone, so an
    # appointment keeps its time across a daylight-saving change.
    time_zone = models.CharField(max_length=60, blank=True)
    # ISO 3166 code of the country whose crisis lines the patient pages show (those of
    # ``referrals/data/crisis_lines.toml``); empty: that file's default country.
    country = models.CharField(max_length=2, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone or settings.TIME_ZONE)

    @property
    def weekdays(self) -> frozenset[int]:
        return frozenset(int(day) for day in self.treatment_days)


class User(AbstractUser):
    """A staff member. Patients have no account."""

    clinics = models.ManyToManyField(Clinic, through="Membership", related_name="staff")
    # For urgent messages to staff (a patient's safety alert), by text.
    mobile = models.CharField(max_length=40, blank=True)
    # Someone else (a clinic admin, the createstaff command) chose this account's password, so
    # they know it: every page leads to the change-password page until the user picks their own.
    must_change_password = models.BooleanField(default=False)

    def check_password(self, raw_password: str | None) -> bool:
        if self.password.startswith(MachineSecretHasher.algorithm + "$"):
            # A machine-made secret stays as it is: re-hashing it with Argon2, as a person's
            # password is at sign-in, would only make every later check slow (accounts.hashers).
            return check_password(raw_password, self.password)
        return super().check_password(raw_password)


class Membership(models.Model):
    """A staff member's role at one clinic."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=20, choices=[(r.value, r.label) for r in Role])
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "clinic"], name="one_role_per_clinic"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.clinic} ({self.role})"
