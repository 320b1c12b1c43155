"""What the scheduling actions share: the refusal, checked times, and the locked lookups."""

from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

from ketacare.accounts.models import User
from ketacare.accounts.permissions import PERMISSIONS, ROLE_LABELS, Role, allowed
from ketacare.actor import Actor
from ketacare.bounds import OutOfBounds, check_datetime
from ketacare.refusals import ActionRefused
from ketacare.scheduling.models import Appointment, Chair


class SchedulingError(ActionRefused):
    """A refused scheduling action; the message says why. Nothing was written."""


def refuse(problems: list[str]) -> None:
    """Raise SchedulingError naming every problem, if there is any."""
    if problems:
        raise SchedulingError(" ".join(problems))


def may(actor: Actor, action: str) -> None:
    """Refuse unless the actor's role may ``action`` (the permission table): the actions check
    it themselves, as a page's ``requires`` would, since some are called from no page."""
    if actor.role not in set(Role) or not allowed(actor.role, action):
        roles = ", ".join(sorted(ROLE_LABELS[Role(r)] for r in PERMISSIONS[action]))
        raise SchedulingError(f"Only these roles may do this: {roles}.")


def signed_in(actor: Actor) -> User:
    """The staff member acting: the book records who made each change."""
    if actor.user is None:
        raise SchedulingError("Only a signed-in staff member changes the appointment book.")
    return actor.user


def column_length(model: type[models.Model], field: str) -> int:
    column = model._meta.get_field(field)
    assert isinstance(column, models.CharField) and column.max_length is not None
    return column.max_length


def checked_span(
    actor: Actor, start: datetime, end: datetime, what: str, longest: timedelta | None = None
) -> tuple[datetime, datetime]:
    """``start`` and ``end`` if both are aware datetimes within the bounds and ``start`` comes
    first (and, given ``longest``, not longer than it); else SchedulingError."""
    for value, name in ((start, "start"), (end, "end")):
        if not isinstance(value, datetime) or timezone.is_naive(value):
            raise SchedulingError(f"The {what}'s {name} must be a date and time with its zone.")
        try:
            check_datetime(value, actor.today(), f"The {what}'s {name}")
        except OutOfBounds as problem:
            raise SchedulingError(str(problem)) from None
    if end <= start:
        raise SchedulingError(f"The {what} must end after it starts.")
    if longest is not None and end - start > longest:
        hours = int(longest.total_seconds() // 3600)
        raise SchedulingError(f"The {what} is longer than {hours} hours.")
    return start, end


def locked_chair(actor: Actor, chair_id: int) -> Chair:
    """The actor's clinic's chair, its row locked: whoever books or closes it waits for the
    transaction holding it, so the overlap check that follows sees every committed booking."""
    try:
        return Chair.objects.select_for_update().get(pk=chair_id, clinic=actor.clinic)
    except Chair.DoesNotExist:
        raise SchedulingError("Unknown chair.") from None


def locked_appointment(actor: Actor, appointment_id: int) -> Appointment:
    try:
        return (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("chair")
            .get(pk=appointment_id, clinic=actor.clinic)
        )
    except Appointment.DoesNotExist:
        raise SchedulingError("Unknown appointment.") from None
