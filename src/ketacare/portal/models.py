"""The patient portal's records: sign-in requests and codes, messages, signed consents."""

from django.conf import settings
from django.db import models

from ketacare.accounts.models import Clinic
from ketacare.patients.models import ConsentRecord, Patient


class SignInRequest(models.Model):
    """One request for a code, known contact or not: what the rate limits count. Holds keyed
    digests only, so the table tells nobody which addresses or contacts were tried."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    address_digest = models.CharField(max_length=64)
    contact_digest = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["address_digest", "at"]),
            models.Index(fields=["contact_digest", "at"]),
        ]


class SignInCode(models.Model):
    """A one-time code sent to a patient's phone or email. Only its keyed hash is kept."""

    class Channel(models.TextChoices):
        SMS = "sms", "Text message"
        EMAIL = "email", "Email"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    contact_digest = models.CharField(max_length=64)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    code_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["contact_digest", "created_at"])]


class PortalMessage(models.Model):
    """A non-urgent message between a patient and their clinic. Never edited or deleted: a
    correction is another message. A patient's message is unanswered until the clinic writes
    after it."""

    class Direction(models.TextChoices):
        FROM_PATIENT = "from_patient", "From the patient"
        FROM_CLINIC = "from_clinic", "From the clinic"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="portal_messages")
    direction = models.CharField(max_length=20, choices=Direction.choices)
    body = models.TextField()
    # An appointment the patient asks to change, when the message is that request.
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["sent_at", "id"]
        indexes = [models.Index(fields=["clinic", "sent_at"])]


class SignedConsent(models.Model):
    """What a patient signed in the portal: the exact text shown, its digest, the name they
    typed. The consent itself is the ``ConsentRecord`` it belongs to (what every gate reads)."""

    consent = models.OneToOneField(
        ConsentRecord, on_delete=models.PROTECT, related_name="portal_signature"
    )
    document = models.CharField(max_length=60)
    version = models.CharField(max_length=30)
    language = models.CharField(max_length=10)
    title = models.CharField(max_length=200)
    text = models.TextField()
    text_sha256 = models.CharField(max_length=64)
    typed_name = models.CharField(max_length=200)
    signed_at = models.DateTimeField()
