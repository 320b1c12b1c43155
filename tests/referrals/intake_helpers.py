"""Referrals for the intake queue's tests, made through the public form's actions."""

from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import count

from django.utils import timezone

from ketacare.accounts.permissions import Role
from ketacare.actor import FixedClock
from ketacare.referrals import actions, intake
from ketacare.referrals.screener import judge
from tests.conftest import actor

LOW = [1, 0, 0, 0, 0, 0, 0]
MODERATE = [1, 1, 1, 0, 0, 0, 0]
_addresses = count(1)


def refer(clinic, answers=LOW, at: datetime | None = None, **details):
    """A self-referral from its own address (each address has a rate limit)."""
    public = actions.public_actor(clinic, f"198.51.100.{next(_addresses) % 250}")
    if at is not None:
        public = replace(public, clock=FixedClock(at))
    data = {
        "given_name": "Grace",
        "family_name": "Hopper",
        "date_of_birth": date(1980, 12, 9),
        "phone": "+1 555 010 4000",
        "email": "",
        "consent_to_contact": True,
        **details,
    }
    return actions.submit_referral(public, clinic, judge(answers), data)


def as_coordinator(user, clinic):
    return actor(user, clinic, Role.COORDINATOR)


def contacted(clinic, coordinator, **details):
    referral = refer(clinic, **details)
    intake.log_contact(
        as_coordinator(coordinator, clinic),
        referral.pk,
        at=timezone.now(),
        channel="phone",
        outcome="reached",
    )
    referral.refresh_from_db()
    return referral


def hours_ago(n: float) -> datetime:
    return timezone.now() - timedelta(hours=n)
