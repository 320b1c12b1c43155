"""A provider's referral through the public form: the change it makes, and its letter's file.

A provider refers a patient; the patient answered no screener, so the referral's risk is
``not_screened`` and it raises no alert (the form's crisis lines are still on every page).
The letter's kind is decided from its bytes (``letters``) before anything is written; the
file goes under the data directory, outside anything the web server serves, by a random name;
if the database write fails the file is removed, so a failure leaves neither half."""

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from ketacare.accounts.models import Clinic
from ketacare.actor import Actor
from ketacare.audit.record import Action, record
from ketacare.clinical.datafiles import load
from ketacare.referrals.actions import ReferralError
from ketacare.referrals.letters import LetterError, LetterKind, identify
from ketacare.referrals.models import Referral
from ketacare.referrals.npi import is_valid_npi
from ketacare.referrals.ratelimit import take_slot

NOT_SCREENED = "not_screened"
DETAILS = (
    "referrer_name",
    "referrer_practice",
    "referrer_npi",
    "referrer_phone",
    "referrer_email",
    "given_name",
    "family_name",
    "date_of_birth",
    "phone",
    "email",
    "reason",
    "current_treatment",
    "consent_to_contact",
)


def max_letter_bytes() -> int:
    return int(load("referrals", "ketacare.referrals")["letter"]["max_bytes"])


def letters_dir() -> Path:
    return Path(settings.DATA_DIR) / "referral-letters"


def letter_path(referral: Referral) -> Path:
    """Where a referral's letter is; the stored name is ours (hex), never the uploader's."""
    if not referral.letter_file or not referral.letter_file.isalnum():
        raise FileNotFoundError("This referral has no letter")
    return letters_dir() / referral.letter_file


def _write(data: bytes) -> str:
    folder = letters_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = secrets.token_hex(16)
    # "x": never overwrite; 0o600: readable only by the application's own user.
    with open(folder / name, "xb") as out:
        out.write(data)
    (folder / name).chmod(0o600)
    return name


def submit_provider_referral(
    actor: Actor, clinic: Clinic, details: dict[str, Any], letter: bytes | None
) -> Referral:
    """A provider referral, with its letter if one came. Raises ReferralError (nothing
    written) for a bad letter or detail, RateLimited past the address's limit."""
    unknown = set(details) - set(DETAILS)
    if unknown:
        raise ReferralError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if not is_valid_npi(details.get("referrer_npi", "")):
        raise ReferralError("The NPI is not a valid National Provider Identifier.")
    if not details.get("consent_to_contact"):
        raise ReferralError("We can only take a referral the patient agreed to.")
    if not (details.get("phone") or details.get("email")):
        raise ReferralError("Please give the patient's phone number or email address.")
    kind: LetterKind | None = None
    if letter is not None:
        try:
            kind = identify(letter, max_letter_bytes())
        except LetterError as error:
            raise ReferralError(str(error)) from error
    name = _write(letter) if letter is not None else ""
    try:
        return _create(actor, clinic, details, name, kind)
    except BaseException:
        # The row did not commit: the file must not outlive it.
        if name:
            (letters_dir() / name).unlink(missing_ok=True)
        raise


@transaction.atomic
def _create(
    actor: Actor, clinic: Clinic, details: dict[str, Any], name: str, kind: LetterKind | None
) -> Referral:
    take_slot(actor.ip, actor.now())
    referral = Referral.objects.create(
        clinic=clinic,
        source=Referral.Source.PROVIDER,
        state=Referral.State.NEW,
        screener_answers=[],
        risk=NOT_SCREENED,
        created_at=actor.now(),
        letter_file=name,
        letter_type=kind.content_type if kind else "",
        **details,
    )
    # As for a self-referral: what staff triage by, not the patient's details.
    record(
        actor,
        Action.CREATE,
        obj=referral,
        clinic=clinic,
        changes={
            "source": referral.source,
            "state": referral.state,
            "risk": referral.risk,
            "referrer_npi": referral.referrer_npi,
            "letter": referral.letter_type or None,
        },
    )
    return referral
