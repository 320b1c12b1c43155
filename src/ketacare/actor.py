"""Who performs an action, and when and where it happens: the ``Actor`` every action takes.

It sits below the apps (accounts builds actors from requests, audit records them, every
action takes one) so that audit, the lower layer, never imports accounts: the user and clinic
types are named for the type checker only (docs/decisions/0114)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from django.utils import timezone

from ketacare.outbox import DELIVER, Outbox

if TYPE_CHECKING:
    from ketacare.accounts.models import Clinic, User

Clock = Callable[[], datetime]


def system_now() -> datetime:
    """The real time. ``timezone.now`` is looked up at each call, not bound once, so that
    what the tests' time travel (and, until it passes a clock, the synthetic clinic's patch)
    does to it reaches the actions."""
    return timezone.now()


@dataclass(frozen=True)
class FixedClock:
    """A clock stopped at ``moment`` (aware): every action run with it happens then."""

    moment: datetime

    def __post_init__(self) -> None:
        if timezone.is_naive(self.moment):
            raise ValueError("A clock tells aware times (with a time zone).")

    def __call__(self) -> datetime:
        return self.moment


@dataclass(frozen=True)
class Actor:
    """Who performs an action, for authorization and the audit trail; and the action's
    surroundings: when it happens (``clock``: every time the action writes or judges by,
    see docs/decisions/0107) and where the messages it sends go (``outbox``)."""

    user: User | None
    role: str
    clinic: Clinic | None
    ip: str | None = None
    clock: Clock = field(default=system_now, compare=False, repr=False)
    outbox: Outbox = field(default=DELIVER, compare=False, repr=False)

    @property
    def username(self) -> str:
        if self.user is not None:
            return str(self.user.get_username())
        return "system" if self.role == "system" else "anonymous"

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """The day of ``now()`` in the clinic's time zone (the installation's without one)."""
        zone = self.clinic.zone if self.clinic is not None else None
        return timezone.localdate(self.clock(), zone)

    def at(self, moment: datetime) -> Actor:
        """The same actor acting at ``moment`` (e.g. a demo's morning, a test's past)."""
        return replace(self, clock=FixedClock(moment))


SYSTEM = Actor(user=None, role="system", clinic=None)
