"""Making, rotating and stopping a staff member's private calendar feed's secret URL: only a
digest of the token is kept, and each change is audited (the feed itself: ``scheduling.feed``)."""

import secrets

from django.db import transaction

from ketacare.actor import Actor
from ketacare.audit.record import Action, record
from ketacare.scheduling.actions.common import may, signed_in
from ketacare.scheduling.feed import TOKEN_BYTES, digest
from ketacare.scheduling.models import CalendarFeed


@transaction.atomic
def make_feed(actor: Actor) -> str:
    """A new secret token for the actor's feed at their clinic, replacing any earlier one
    (whose URL stops working at once). Returned once: only its digest is kept."""
    may(actor, "scheduling.feed")
    user, clinic = signed_in(actor), actor.clinic
    assert clinic is not None  # may() admits a role at a clinic only
    token = secrets.token_urlsafe(TOKEN_BYTES)
    feed = CalendarFeed.objects.select_for_update().filter(clinic=clinic, staff=user).first()
    if feed is None:
        feed = CalendarFeed.objects.create(
            clinic=clinic, staff=user, token_digest=digest(token), created_at=actor.now()
        )
        record(actor, Action.CREATE, obj=feed)
    else:
        feed.token_digest, feed.created_at = digest(token), actor.now()
        feed.save(update_fields=["token_digest", "created_at"])
        # Neither token nor digest in the trail: that the URL changed is what matters.
        record(actor, Action.UPDATE, obj=feed, changes={"token": "rotated"})
    return token


@transaction.atomic
def stop_feed(actor: Actor) -> bool:
    """Turn the actor's feed off (its URL then answers "not found"); False if there was none."""
    may(actor, "scheduling.feed")
    user = signed_in(actor)
    feed = CalendarFeed.objects.select_for_update().filter(clinic=actor.clinic, staff=user).first()
    if feed is None:
        return False
    record(actor, Action.DELETE, obj=feed)
    feed.delete()
    return True
