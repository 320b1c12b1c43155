"""A referral that came through the clinic's front door, and what it raised."""

from django.conf import settings
from django.db import models

# Bounds of the free-text fields: long enough for a person's own words, short enough that a
# flood of text fills no disk and no staff page.
NAME_MAX = 100
PHONE_MAX = 40
EMAIL_MAX = 254
TEXT_MAX = 2000
PRACTICE_MAX = 200


class Referral(models.Model):
    class Source(models.TextChoices):
        SELF = "self", "Self-referral"
        PROVIDER = "provider", "Provider referral"

    class State(models.TextChoices):
        # Which state may follow which is ``ketacare.referrals.states`` (pure rules).
        NEW = "new", "New"
        CONTACTED = "contacted", "Contacted"
        EVALUATION_BOOKED = "evaluation_booked", "Evaluation booked"
        NOT_A_FIT = "not_a_fit", "Not a fit"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Contact(models.TextChoices):
        PHONE = "phone", "Phone call"
        TEXT = "text", "Text message"
        EMAIL = "email", "Email"

    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.SELF)
    state = models.CharField(max_length=20, choices=State.choices, default=State.NEW)
    # Contact details: blank only on a referral saved from the crisis page, where the person
    # may leave just a phone number (or nothing) for the warm hand-off.
    given_name = models.CharField(max_length=NAME_MAX, blank=True)
    family_name = models.CharField(max_length=NAME_MAX, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    phone = models.CharField(max_length=PHONE_MAX, blank=True)
    email = models.EmailField(max_length=EMAIL_MAX, blank=True)
    preferred_contact = models.CharField(max_length=10, choices=Contact.choices, blank=True)
    voicemail_ok = models.BooleanField(default=False)
    reason = models.TextField(max_length=TEXT_MAX, blank=True)
    current_treatment = models.TextField(max_length=TEXT_MAX, blank=True)
    consent_to_contact = models.BooleanField(default=False)
    # The C-SSRS screener: one answer per item (0 no, 1 yes; an item not asked is 0), the risk
    # level the instrument's scoring gave, and the Columbia triage text for it, as shown then.
    screener_answers = models.JSONField()
    risk = models.CharField(max_length=20)
    triage = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    # A provider referral's referrer (blank on a self-referral) and the letter they sent:
    # stored under the data directory by its random name (``letter_file``), never served
    # but through the staff download, with the content type its bytes proved.
    referrer_name = models.CharField(max_length=NAME_MAX, blank=True)
    referrer_practice = models.CharField(max_length=PRACTICE_MAX, blank=True)
    referrer_npi = models.CharField(max_length=10, blank=True)
    referrer_phone = models.CharField(max_length=PHONE_MAX, blank=True)
    referrer_email = models.EmailField(max_length=EMAIL_MAX, blank=True)
    letter_file = models.CharField(max_length=64, blank=True)
    letter_type = models.CharField(max_length=40, blank=True)
    # The intake queue's working fields, kept on the referral so that the queue is one query;
    # their history is ReferralChange and ContactAttempt. The first contact attempt's time
    # (not the state's) is what the funnel's "time to first contact" measures.
    first_contact_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    not_a_fit_reason = models.CharField(max_length=40, blank=True)
    referred_to = models.CharField(max_length=300, blank=True)
    # The patient an accepted referral became (accepting twice is refused by this).
    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["clinic", "state", "created_at"])]

    def __str__(self) -> str:
        return f"Referral {self.pk} ({self.get_source_display()}, {self.risk})"


class ReferralAlert(models.Model):
    """An urgent alert from a referral whose screener raised a safety signal. Not a
    ``measures.SafetyAlert``: that one belongs to a patient's questionnaire response, and a
    referral has no patient yet. Open until a clinician records the hand-off."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="alerts")
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    flag = models.CharField(max_length=40)
    rule = models.CharField(max_length=300)
    source = models.TextField()
    created_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_note = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["clinic", "acknowledged_at"])]


class SubmissionAttempt(models.Model):
    """One public submission that wrote (or would have written), by a keyed digest of the
    client's address, for the rate limit. Kept in the database, not a per-process cache, so
    that every app server counts the same attempts."""

    address_digest = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["address_digest", "at"])]


STAFF = settings.AUTH_USER_MODEL


class ReferralChange(models.Model):
    """One change of a referral's state, with who made it, when and why. Append-only (the
    database refuses an update or a delete): the referral's history."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="changes")
    changed_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, null=True, related_name="+")
    changed_at = models.DateTimeField()
    old_state = models.CharField(max_length=20)
    new_state = models.CharField(max_length=20)
    reason = models.CharField(max_length=40, blank=True)
    referred_to = models.CharField(max_length=300, blank=True)
    note = models.TextField(max_length=TEXT_MAX, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]


class ContactAttempt(models.Model):
    """One attempt to reach the person who referred themself, and how it went. Append-only."""

    class Channel(models.TextChoices):
        PHONE = "phone", "Phone call"
        TEXT = "text", "Text message"
        EMAIL = "email", "Email"
        LETTER = "letter", "Letter"

    class Outcome(models.TextChoices):
        REACHED = "reached", "Reached"
        VOICEMAIL = "voicemail", "Left a voicemail"
        NO_ANSWER = "no_answer", "No answer"
        SENT = "sent", "Message sent"
        WRONG_NUMBER = "wrong_number", "Wrong number or address"

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="attempts")
    made_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, null=True, related_name="+")
    at = models.DateTimeField()
    channel = models.CharField(max_length=10, choices=Channel.choices)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    note = models.TextField(max_length=TEXT_MAX, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
