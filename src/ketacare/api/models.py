from datetime import datetime

from django.db import models
from django.utils import timezone

from ketacare.accounts.models import Membership


class ApiToken(models.Model):
    """A staff member's personal access token for the JSON API, at one clinic.

    It acts as its owner's membership there: the role the membership has when the token is
    used (not when it was made) decides, through the permission table, what it may do, and a
    deactivated membership stops it. The secret is shown once; only its hash is kept
    (``accounts.hashers.MachineSecretHasher``), found by ``key_id``, the token's public part."""

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100, help_text="What the token is for.")
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=200, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"API token {self.key_id} ({self.name})"

    def usable_at(self, moment: datetime) -> bool:
        """Not revoked, not expired, and its membership (and user) still active."""
        return (
            self.revoked_at is None
            and moment < self.expires_at
            and self.membership.active
            and self.membership.user.is_active
        )
