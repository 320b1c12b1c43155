"""The demo's intake queue: an urgent, a new and a contacted referral, made through the same
actions as the public form and the queue (``ketacare.referrals.demo.seed(clinic)``)."""

from datetime import date

from ketacare.accounts.models import Clinic, Membership
from ketacare.accounts.permissions import Role
from ketacare.actor import Actor
from ketacare.referrals import actions, intake
from ketacare.referrals.models import ContactAttempt, Referral
from ketacare.referrals.screener import judge

# Answers to the C-SSRS screener's seven items (0 no, 1 yes; unasked items 0).
LOW = [1, 0, 0, 0, 0, 0, 0]
MODERATE = [1, 1, 1, 0, 0, 0, 0]
# A documentation address: the demo's submissions take rate-limit slots of no real client.
DEMO_ADDRESS = "192.0.2.16"


def _details(given: str, family: str, born: str, phone: str) -> dict[str, object]:
    return {
        "given_name": given,
        "family_name": family,
        "date_of_birth": date.fromisoformat(born),
        "phone": phone,
        "email": f"{given.lower()}.{family.lower()}@example.org",
        "preferred_contact": "phone",
        "voicemail_ok": True,
        "reason": "Depression that has not lifted after two antidepressants.",
        "current_treatment": "Sertraline 100 mg daily",
        "consent_to_contact": True,
    }


def seed(clinic: Clinic) -> list[Referral]:
    """Three referrals at ``clinic``: urgent (moderate risk) and new, routine and new, and
    routine and contacted by the clinic's first coordinator (or nurse). Needs one of them."""
    public = actions.public_actor(clinic, DEMO_ADDRESS)
    urgent = actions.submit_referral(
        public, clinic, judge(MODERATE), _details("Avery", "Lindqvist", "1987-03-14", "555-0142")
    )
    new = actions.submit_referral(
        public, clinic, judge(LOW), _details("Jordan", "Okafor", "1979-11-02", "555-0178")
    )
    contacted = actions.submit_referral(
        public, clinic, judge(LOW), _details("Sam", "Reyes", "1992-06-25", "555-0193")
    )
    membership = (
        Membership.objects.filter(
            clinic=clinic, active=True, role__in=[Role.COORDINATOR, Role.NURSE]
        )
        .select_related("user")
        .order_by("-role", "pk")  # coordinator before nurse
        .first()
    )
    if membership is None:
        raise ValueError("The demo's contacted referral needs a coordinator or nurse.")
    staff = Actor(user=membership.user, role=membership.role, clinic=clinic, ip=None)
    intake.log_contact(
        staff,
        contacted.pk,
        at=staff.now(),
        channel=ContactAttempt.Channel.PHONE,
        outcome=ContactAttempt.Outcome.REACHED,
        note="Interested; will call back with a day for the evaluation.",
    )
    return [urgent, new, contacted]
