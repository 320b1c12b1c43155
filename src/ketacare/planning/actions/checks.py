"""What the planning actions check before they write: the refusal they raise, the signer's
password, the bounds of a date, and the evaluation they lock."""

from datetime import date

from ketacare.accounts.reauth import SignatureRefused, reauthenticate_actor
from ketacare.actor import Actor
from ketacare.bounds import date_problem
from ketacare.planning.answers import name_fields
from ketacare.planning.models import Evaluation
from ketacare.refusals import ActionRefused


class PlanningError(ActionRefused):
    """A refused change; the message says why and what to do. Nothing was written."""


# The prompts' names in the audit trail of a refused signature.
EVALUATION_SIGNATURE = "evaluation signature"
OVERRIDE_SIGNATURE = "eligibility override"
PLAN_SIGNATURE = "plan signature"


def confirm_signature(actor: Actor, password: str, code: str = "", *, prompt: str) -> None:
    """The signer's own password (and authenticator code), checked as at sign-in
    (``accounts.reauth``). Called before the action's transaction opens, so that a refusal's
    audit event and lock-out count are kept."""
    try:
        reauthenticate_actor(actor, password, code, prompt=prompt)
    except SignatureRefused as refused:
        raise PlanningError(str(refused)) from None


def within_bounds(day: date, today: date, what: str) -> None:
    problem = date_problem(day, today, what)
    if problem:
        raise PlanningError(problem)


def readable(message: str) -> str:
    """An error from the clinical code as staff read it: field paths named as the form names
    them, and a capital letter."""
    message = name_fields(message)
    return message[:1].upper() + message[1:]


def locked_evaluation(actor: Actor, evaluation_id: int) -> Evaluation:
    return Evaluation.objects.select_for_update().get(pk=evaluation_id, clinic=actor.clinic)
