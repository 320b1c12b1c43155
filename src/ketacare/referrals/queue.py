"""What the intake queue page reads: the open referrals in the order staff answer them, how
long each has waited against the clinic's response target, the funnel figures and a
referral's likely duplicates among the clinic's patients. A fixed number of queries however
many referrals there are."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from django.db.models import Case, Count, IntegerField, Value, When

from ketacare.accounts.models import Clinic
from ketacare.patients.actions import find_duplicates
from ketacare.patients.search import Duplicate
from ketacare.referrals import states
from ketacare.referrals.intake import policy
from ketacare.referrals.models import Referral

FUNNEL_DAYS = 30


def span(length: timedelta) -> str:
    """A wait as staff say it: "2 d 3 h", "3 h 20 min", "12 min"."""
    minutes = max(0, int(length.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


@dataclass(frozen=True)
class Waiting:
    referral: Referral
    urgent: bool
    due: datetime
    overdue: bool
    waited: timedelta

    @property
    def waited_text(self) -> str:
        return span(self.waited)


def waiting(referral: Referral, clinic: Clinic, now: datetime) -> Waiting:
    rules = policy()["response"]
    urgent = states.is_urgent(referral.risk, rules)
    due = states.due_by(referral.created_at.astimezone(clinic.zone), urgent, rules)
    # Only a referral nobody has tried to reach yet is late: the target is the first contact.
    late = referral.first_contact_at is None and now > due
    return Waiting(referral, urgent, due, late, now - referral.created_at)


def open_queue(clinic: Clinic, now: datetime) -> list[Waiting]:
    """The clinic's open referrals: urgent ones (the policy's risks) first, then by arrival,
    oldest first (one query)."""
    urgent_risks = policy()["response"]["urgent_risks"]
    referrals = (
        Referral.objects.filter(clinic=clinic, state__in=states.OPEN)
        .annotate(
            urgency=Case(
                When(risk__in=urgent_risks, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
            attempt_count=Count("attempts"),
        )
        .order_by("urgency", "created_at", "id")
    )
    return [waiting(referral, clinic, now) for referral in referrals]


@dataclass(frozen=True)
class Funnel:
    arrivals: int
    contacted: int
    median_to_first_contact: timedelta | None
    accepted: int
    not_a_fit: list[tuple[str, int]]

    @property
    def median_text(self) -> str:
        return "—" if self.median_to_first_contact is None else span(self.median_to_first_contact)


def funnel(clinic: Clinic, now: datetime) -> Funnel:
    """The last FUNNEL_DAYS' referrals: how many came, how soon they were first contacted,
    how many were accepted and why the others were not a fit (two queries)."""
    recent = Referral.objects.filter(clinic=clinic, created_at__gte=now - timedelta(FUNNEL_DAYS))
    rows = list(recent.values_list("created_at", "first_contact_at", "patient_id"))
    waits = [first - arrived for arrived, first, _ in rows if first is not None]
    by_reason = (
        recent.filter(state=states.NOT_A_FIT)
        .values_list("not_a_fit_reason")
        .annotate(n=Count("id"))
        .order_by("-n", "not_a_fit_reason")
    )
    return Funnel(
        arrivals=len(rows),
        contacted=len(waits),
        # To the minute: the page shows hours and minutes, not microseconds.
        median_to_first_contact=(
            timedelta(minutes=round(median(w.total_seconds() for w in waits) / 60))
            if waits
            else None
        ),
        accepted=sum(1 for *_, patient in rows if patient is not None),
        not_a_fit=[(states.NOT_A_FIT_REASONS.get(r, r), n) for r, n in by_reason],
    )


def duplicates(referral: Referral) -> list[Duplicate]:
    """The clinic's patients who may be the person referred (name and birth date, phone or
    email), by the patients app's own rule for a registration."""
    if not (referral.phone or referral.email or referral.date_of_birth):
        return []
    return find_duplicates(
        referral.clinic,
        {
            "given_name": referral.given_name,
            "family_name": referral.family_name,
            "date_of_birth": referral.date_of_birth,
            "phone": referral.phone,
            "email": referral.email,
        },
    )
