"""A second person signing in the same action: a waste's or a reversal's witness, or the
prescriber overriding an expired lot. They are authenticated as at sign-in before the action's
transaction opens, so that a refused signature's audit event and lock-out count are kept."""

from dataclasses import dataclass

from ketacare.accounts.models import User
from ketacare.accounts.permissions import allowed
from ketacare.accounts.reauth import SignatureRefused, reauthenticate
from ketacare.actor import Actor
from ketacare.inventory.actions.checks import StockError

# The prompts' names in the audit trail of a refused signature.
WASTE_WITNESS = "waste witness"
REVERSAL_WITNESS = "reversal witness"
EXPIRY_OVERRIDE = "expired lot override"


@dataclass(frozen=True)
class Signature:
    """A second person confirming with their own credentials in the same action: a waste or
    reversal witness, or the prescriber overriding an expiry. ``code`` is their authenticator
    code, needed when their sign-in needs one."""

    username: str
    password: str
    code: str = ""


def confirm_signer(
    actor: Actor, signature: Signature | None, role_action: str, who: str, *, prompt: str
) -> User:
    """The person who signs, authenticated as at sign-in (``accounts.reauth``), another person
    than the actor, and allowed ``role_action`` at this clinic. Call it before the action's
    transaction opens, so that a refusal's audit event and lock-out count are kept."""
    if signature is None or not signature.username or not signature.password:
        raise StockError(f"The {who} must sign with their username and password.")
    try:
        user = reauthenticate(
            actor, signature.username, signature.password, signature.code, prompt=prompt
        )
    except SignatureRefused as refused:
        raise StockError(str(refused)) from None
    if actor.user is not None and user.pk == actor.user.pk:
        raise StockError(f"The {who} must be another person than the one recording the entry.")
    membership = user.memberships.filter(clinic=actor.clinic, active=True).first()
    if membership is None or not allowed(membership.role, role_action):
        raise StockError(f"{user.get_username()} may not act as the {who} at this clinic.")
    return user


def confirm_witness(actor: Actor, signature: Signature | None, *, prompt: str) -> User:
    """A witness of a waste or a reversal: another person whose role may move stock."""
    return confirm_signer(actor, signature, "inventory.move", "witness", prompt=prompt)
