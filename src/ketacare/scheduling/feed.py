"""A staff member's private iCalendar feed, which a calendar application fetches without
signing in — so it carries initials and times only, never a diagnosis, drug, protocol or kind
of appointment, and every fetch is audited as a read. Making, rotating and stopping its secret
URL are actions (``actions.feed``)."""

import hashlib
import re
from dataclasses import dataclass

from django.db import transaction

from ketacare.accounts.models import Membership
from ketacare.accounts.permissions import allowed
from ketacare.actor import Actor
from ketacare.audit.record import Action, record
from ketacare.scheduling import ical
from ketacare.scheduling.calendar import feed_appointments, initials
from ketacare.scheduling.models import Appointment, CalendarFeed

# secrets.token_urlsafe(32): 43 characters of the URL-safe base64 alphabet, 256 bits.
TOKEN_BYTES = 32
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
# A calendar drops these: the time is no longer held (a closure's casualty waits for a new one).
GONE = (Appointment.State.CANCELLED, Appointment.State.NEEDS_REBOOKING)


def digest(token: str) -> str:
    """What is stored of a token: its SHA-256. The token is random and 256 bits long, so a
    fast hash is enough — nothing to guess, unlike a password."""
    return hashlib.sha256(token.encode()).hexdigest()


def current_feed(actor: Actor) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(clinic=actor.clinic, staff=actor.user).first()


@dataclass(frozen=True)
class Reader:
    """Whose feed a token opens, and as whom its fetch is audited."""

    feed: CalendarFeed
    role: str


def reader_of(token: str) -> Reader | None:
    """The feed ``token`` opens, or None: an unknown or rotated token, or a staff member no
    longer active at the clinic or whose role there no longer reads the book."""
    if not TOKEN.fullmatch(token):
        return None
    feed = (
        CalendarFeed.objects.filter(token_digest=digest(token))
        .select_related("clinic", "staff")
        .first()
    )
    if feed is None or not feed.staff.is_active:
        return None
    membership = Membership.objects.filter(user=feed.staff, clinic=feed.clinic, active=True).first()
    if membership is None or not allowed(membership.role, "scheduling.feed"):
        return None
    return Reader(feed, membership.role)


def summary(appointment: Appointment) -> str:
    # Initials only: no kind (a "dosing session" says what is treated), no name, no MRN.
    return f"{initials(appointment.patient)} – Appointment"


def read_feed(actor: Actor, feed: CalendarFeed) -> str:
    """The feed's calendar text, the fetch audited as a read of the appointments it lists
    (``actor``: the feed's owner, at the address that fetched it)."""
    appointments = feed_appointments(feed.clinic, feed.staff, actor.now())
    events = [
        ical.Event(
            # Stable per appointment and installation-unique: a move changes the times and the
            # sequence, not the UID, so calendars update the event instead of adding one.
            uid=f"appointment-{appointment.pk}@ketacare",
            start=appointment.start,
            end=appointment.end,
            summary=summary(appointment),
            location=appointment.chair.name if appointment.chair else "",
            cancelled=appointment.state in GONE,
            sequence=getattr(appointment, "change_count", 0),
        )
        for appointment in appointments
    ]
    with transaction.atomic():
        record(
            actor,
            Action.VIEW,
            obj=feed,
            changes={"appointments": [appointment.pk for appointment in appointments]},
        )
    # Not the clinic's name: it may name the drug ("… Ketamine Clinic"), and a calendar
    # application shows its calendars' names to whoever looks at the screen.
    return ical.calendar("Appointments", events, actor.now())
