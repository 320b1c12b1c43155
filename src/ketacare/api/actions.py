"""Making, revoking and using personal access tokens. Each change is audited."""

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction

from ketacare.accounts.hashers import SECRET_HEX_DIGITS, MachineSecretHasher
from ketacare.accounts.models import Membership
from ketacare.accounts.permissions import allowed
from ketacare.actor import Actor
from ketacare.api.models import ApiToken
from ketacare.audit.record import Action, field_changes, record
from ketacare.clinical.datafiles import load
from ketacare.refusals import ActionRefused

TOKEN_PREFIX = "kc"  # noqa: S105  (the public start of every token, not a secret)
# last_used_at is written at most this often: a script calling every second would otherwise
# write a row on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenRefused(ActionRefused):
    """A token could not be made or revoked; nothing was written."""


def policy() -> dict[str, Any]:
    return load("policy", package="ketacare.api")


def token_text(key_id: str, secret: str) -> str:
    """What the owner copies: ``kc_<key id>_<secret>``."""
    return f"{TOKEN_PREFIX}_{key_id}_{secret}"


def _membership(actor: Actor) -> Membership:
    if actor.user is None or actor.clinic is None or not allowed(actor.role, "api.tokens"):
        raise TokenRefused("Only a staff member of this clinic makes or revokes their tokens.")
    membership = Membership.objects.filter(
        user=actor.user, clinic=actor.clinic, active=True
    ).first()
    if membership is None:
        raise TokenRefused("Your membership of this clinic is not active.")
    return membership


@transaction.atomic
def create_token(actor: Actor, name: str, lifetime_days: int) -> tuple[ApiToken, str]:
    """A new token for the actor at their clinic, living ``lifetime_days`` (at most the
    policy's maximum). Returns it with its text, which is shown once: only a hash is kept."""
    membership = _membership(actor)
    longest = int(policy()["max_lifetime_days"])
    if not 1 <= lifetime_days <= longest:
        raise TokenRefused(f"A token lives from 1 to {longest} days.")
    name = name.strip()
    if not name:
        raise TokenRefused("Name the token after what will use it.")
    key_id = secrets.token_hex(6)
    secret = secrets.token_hex(SECRET_HEX_DIGITS // 2)
    now = actor.now()
    token = ApiToken.objects.create(
        membership=membership,
        name=name,
        key_id=key_id,
        secret_hash=make_password(secret, hasher=MachineSecretHasher.algorithm),
        created_at=now,
        expires_at=now + timedelta(days=lifetime_days),
    )
    # Neither the secret nor its hash in the trail: which token, for what, until when.
    record(
        actor,
        Action.CREATE,
        obj=token,
        changes=field_changes({}, {"name": name, "key_id": key_id, "expires_at": token.expires_at}),
    )
    return token, token_text(key_id, secret)


@transaction.atomic
def revoke_token(actor: Actor, token_id: int) -> ApiToken:
    """Stop one of the actor's own tokens at their clinic (from now on it answers 401)."""
    membership = _membership(actor)
    token = ApiToken.objects.select_for_update().filter(pk=token_id, membership=membership).first()
    if token is None:
        raise TokenRefused("You have no such token.")
    if token.revoked_at is not None:
        raise TokenRefused("That token was revoked already.")
    token.revoked_at = actor.now()
    token.save(update_fields=["revoked_at"])
    record(
        actor,
        Action.UPDATE,
        obj=token,
        changes=field_changes({"revoked_at": None}, {"revoked_at": token.revoked_at}),
    )
    return token


def token_used(token: ApiToken, moment: datetime) -> None:
    """Note when the token was last used (not audited: the reads it makes are)."""
    last = token.last_used_at
    if last is None or moment - last >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=moment)
        token.last_used_at = moment
