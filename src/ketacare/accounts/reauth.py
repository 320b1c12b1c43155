"""Every password prompt inside a signed-in session is a sign-in.

A witness typing their password on the waste form, a prescriber overriding an expiry or signing
a plan, a nurse signing a discharge: each is checked by ``reauthenticate``, through the same
machinery as the login page (``django.contrib.auth.authenticate`` and its django-axes backend):

- a failure counts toward the account's lock-out (``AXES_FAILURE_LIMIT`` by username, shared
  with the login page), and a locked-out account is refused even with the right password;
- every failure is audited (``LOGIN_FAILED``, with the prompt it came from);
- the person must work at the actor's clinic (an active membership there);
- the second factor is asked wherever sign-in asks for it: of a user with a confirmed
  authenticator, and of every user the 2FA rule covers (``requires_second_factor``);
- whatever the cause, a failure gives one message, ``REFUSED``: a prompt tells nobody whether
  the username exists, the password was right, the account is locked or lives elsewhere.

Call it before the action's transaction opens: the failure's audit event and its count toward
the lock-out must outlive the refused action, whose transaction rolls back.
"""

from typing import NoReturn

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest
from django_otp import match_token

from ketacare.accounts.middleware import has_second_factor, requires_second_factor
from ketacare.accounts.models import User
from ketacare.actor import Actor
from ketacare.audit.record import Action, record
from ketacare.refusals import ActionRefused

REFUSED = "The signature was not accepted. Nothing was recorded."
# Set on the request built for a prompt, so that the login page's failure audit (a signal
# receiver) leaves the event to this module, which knows who asked and where.
PROMPT_ATTRIBUTE = "ketacare_prompt"


class SignatureRefused(ActionRefused):
    """A prompt's credentials were not accepted; always the one message, ``REFUSED``."""

    def __init__(self) -> None:
        super().__init__(REFUSED)


def reauthenticate(
    actor: Actor, username: str, password: str, code: str = "", *, prompt: str
) -> User:
    """The user these credentials authenticate, at the actor's clinic, or SignatureRefused.

    ``prompt`` names the prompt in the audit trail ("waste witness", "plan signature").
    ``code`` is the signer's authenticator code, needed when sign-in would need it."""
    request = prompt_request(actor, prompt)
    user = authenticate(request, username=username, password=password)
    if user is None:
        # authenticate() has told django-axes (it counts the failure, or refused a locked
        # account without checking the password).
        _refuse(actor, request, username, "credentials")
    assert isinstance(user, User)
    if (
        actor.clinic is None
        or not user.memberships.filter(clinic=actor.clinic, active=True).exists()
    ):
        _fail(actor, request, username, "not at this clinic")
    if requires_second_factor(user) or has_second_factor(user):
        if not code.strip():
            _fail(actor, request, username, "second factor missing")
        if match_token(user, code.strip()) is None:
            _fail(actor, request, username, "second factor")
    if settings.AXES_RESET_ON_SUCCESS and AccessAttempt.objects.filter(username=username).exists():
        # As a successful sign-in does: earlier failures no longer count toward a lock-out.
        # (Looked up first: a signature without earlier failures writes nothing.)
        AxesProxyHandler.reset_attempts(username=username)
    return user


def prompt_request(actor: Actor, prompt: str, kind: str = "signature prompt") -> HttpRequest:
    """The request django-axes needs: the actor's address, and the prompt where the login
    page would have its path (axes keeps it with the failed attempt). Marked as a prompt's, so
    that the login page's failure audit leaves the event to the prompt's code."""
    request = HttpRequest()
    request.method = "POST"
    if actor.ip:
        request.META["REMOTE_ADDR"] = actor.ip
    request.META["PATH_INFO"] = f"{kind}: {prompt}"
    request.META["HTTP_USER_AGENT"] = f"ketacare {kind}"
    setattr(request, PROMPT_ATTRIBUTE, prompt)
    return request


def _fail(actor: Actor, request: HttpRequest, username: str, why: str) -> NoReturn:
    """A right password that does not sign all the same: tell django-axes, as authenticate()
    does for a wrong one, so that it counts toward the lock-out too."""
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
    _refuse(actor, request, username, why)


def _refuse(actor: Actor, request: HttpRequest, username: str, why: str) -> NoReturn:
    """Audit the failure (who asked, for which account, at which prompt, why) and refuse."""
    record(
        actor,
        Action.LOGIN_FAILED,
        obj=User.objects.filter(username=username).first(),
        object_type="user",
        changes={
            "prompt": getattr(request, PROMPT_ATTRIBUTE),
            "username": username[:150],
            "reason": why,
            "locked_out": bool(getattr(request, "axes_locked_out", False)),
        },
    )
    raise SignatureRefused


def reauthenticate_actor(actor: Actor, password: str, code: str = "", *, prompt: str) -> User:
    """The signed-in actor signing with their own password (and code): a signature or an
    override, checked as their sign-in was."""
    if actor.user is None:
        raise SignatureRefused
    return reauthenticate(actor, actor.user.get_username(), password, code, prompt=prompt)
