"""Every change the front door makes: a referral, its alerts, the crisis call-back.

The actor is the anonymous public (``public_actor``): no user, the clinic the form belongs to,
the client's address. Each submission takes a slot of the address's rate limit inside its own
transaction, so a refused or rolled-back one writes nothing at all."""

from datetime import date, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from ketacare.accounts.models import Clinic
from ketacare.actor import Actor
from ketacare.audit.record import Action, field_changes, record
from ketacare.clinical.datafiles import load
from ketacare.referrals import notify
from ketacare.referrals.models import Referral, ReferralAlert
from ketacare.referrals.ratelimit import take_slot
from ketacare.referrals.screener import Triage

PUBLIC_ROLE = "public"
DETAILS = (
    "given_name",
    "family_name",
    "date_of_birth",
    "phone",
    "email",
    "preferred_contact",
    "voicemail_ok",
    "reason",
    "current_treatment",
    "consent_to_contact",
)


class ReferralError(Exception):
    """A submission that cannot be taken; its message says why. Nothing was written."""


def public_actor(clinic: Clinic, ip: str | None) -> Actor:
    return Actor(user=None, role=PUBLIC_ROLE, clinic=clinic, ip=ip)


def _create(actor: Actor, clinic: Clinic, triage: Triage, details: dict[str, Any]) -> Referral:
    take_slot(actor.ip, actor.now())
    referral = Referral.objects.create(
        clinic=clinic,
        source=Referral.Source.SELF,
        state=Referral.State.NEW,
        screener_answers=list(triage.answers),
        risk=triage.risk,
        triage=triage.triage,
        created_at=actor.now(),
        **details,
    )
    # The audit event names what staff triage by, not the person's details (those are on the
    # referral, which staff open and whose reads are audited there).
    record(
        actor,
        Action.CREATE,
        obj=referral,
        clinic=clinic,
        changes={
            "source": referral.source,
            "state": referral.state,
            "risk": referral.risk,
            "screener_answers": referral.screener_answers,
            "contact_given": bool(referral.phone or referral.email),
        },
    )
    for signal in triage.signals:
        alert = ReferralAlert.objects.create(
            referral=referral,
            clinic=clinic,
            flag=signal.flag,
            rule=signal.rule[:300],
            source=signal.source,
            created_at=actor.now(),
        )
        record(actor, Action.CREATE, obj=alert, clinic=clinic, changes={"flag": signal.flag})
        # The on-call clinician is told at once, but only once the alert is really there.
        transaction.on_commit(
            partial(notify.referral_alert_opened, alert.pk, clock=actor.clock, outbox=actor.outbox),
            robust=True,
        )
    return referral


@transaction.atomic
def save_crisis_screen(actor: Actor, clinic: Clinic, triage: Triage) -> Referral:
    """A screener at crisis risk: saved at once, before any contact details, with its urgent
    alert, so staff know someone knocked and can hand off as soon as there is a way to reach
    them. Raises RateLimited (nothing written) past the address's limit."""
    if not triage.crisis:
        raise ReferralError("Only a screener at crisis risk is saved without contact details.")
    return _create(actor, clinic, triage, {})


@transaction.atomic
def submit_referral(
    actor: Actor, clinic: Clinic, triage: Triage, details: dict[str, Any]
) -> Referral:
    """A self-referral with its contact details, after a screener below crisis risk."""
    unknown = set(details) - set(DETAILS)
    if unknown:
        raise ReferralError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if not details.get("consent_to_contact"):
        raise ReferralError(_("We can only take a referral you agree we may contact you about."))
    if not (details.get("phone") or details.get("email")):
        raise ReferralError(_("Please give a phone number or an email address."))
    born = details.get("date_of_birth")
    if isinstance(born, date) and born > actor.today():
        raise ReferralError(_("The date of birth is in the future."))
    return _create(actor, clinic, triage, details)


@transaction.atomic
def add_callback(
    actor: Actor, clinic: Clinic, referral_id: int, given_name: str, phone: str, voicemail: bool
) -> Referral:
    """The phone number a person at crisis risk left on the crisis page, for the warm
    hand-off. Only once, only on a crisis referral of this clinic, only soon after it."""
    window = load("referrals", "ketacare.referrals")["form"]["continue_within_minutes"]
    referral = (
        Referral.objects.select_for_update()
        .filter(
            pk=referral_id,
            clinic=clinic,
            risk="high",
            created_at__gte=actor.now() - timedelta(minutes=window),
        )
        .first()
    )
    if referral is None or referral.phone:
        raise ReferralError(_("This page has expired. Please call the clinic or a line above."))
    take_slot(actor.ip, actor.now())
    referral.given_name, referral.phone, referral.voicemail_ok = given_name, phone, voicemail
    referral.consent_to_contact = True
    referral.save(update_fields=["given_name", "phone", "voicemail_ok", "consent_to_contact"])
    record(
        actor,
        Action.UPDATE,
        obj=referral,
        clinic=clinic,
        changes={"callback_phone_given": True, "voicemail_ok": voicemail},
    )
    return referral


@transaction.atomic
def record_handoff(actor: Actor, alert_id: int, note: str) -> ReferralAlert:
    """Close a referral's alert with what the clinician did (the warm hand-off). Refused if
    someone recorded it in the meantime: that note stands."""
    alert = (
        ReferralAlert.objects.select_for_update().filter(pk=alert_id, clinic=actor.clinic).first()
    )
    if alert is None:
        raise ReferralError("No such alert.")
    if alert.acknowledged_at is not None:
        raise ReferralError("The hand-off for this alert was already recorded.")
    if not note.strip():
        raise ReferralError("Write what was done before closing the alert.")
    alert.acknowledged_by = actor.user
    alert.acknowledged_at = actor.now()
    alert.acknowledgement_note = note
    alert.save(update_fields=["acknowledged_by", "acknowledged_at", "acknowledgement_note"])
    record(
        actor,
        Action.UPDATE,
        obj=alert,
        changes=field_changes({"acknowledged": False}, {"acknowledged": True, "note": note}),
    )
    return alert
