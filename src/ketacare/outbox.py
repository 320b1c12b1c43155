"""Where the messages an action sends go: an email or a text to a patient (a questionnaire
link, a reminder) or to a prescriber (a safety alert).

The outbox travels with the actor (``Actor.outbox``), so that whoever runs the actions says
where their messages go, without changing a setting for the whole process: the web and the
scheduled dispatch use ``DELIVER`` (the deployment's mail and SMS providers); a program that
runs the actions on fictional patients (the synthetic clinic, the demo) uses ``DISCARD``.
"""

import logging
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


class Outbox(Protocol):
    def email(self, to: str, subject: str, body: str) -> None: ...

    def sms(self, to: str, body: str) -> None: ...


class DeploymentOutbox:
    """Django's ``EMAIL_BACKEND`` and the ``KETACARE_SMS_BACKEND`` (a class with
    ``send(to, body)``), read at each message so that the settings in force then decide.
    A provider's error reaches the caller."""

    def email(self, to: str, subject: str, body: str) -> None:
        send_mail(subject, body, None, [to], fail_silently=False)

    def sms(self, to: str, body: str) -> None:
        backend = import_string(settings.KETACARE_SMS_BACKEND)
        backend().send(to, body)


class DiscardOutbox:
    """Messages go nowhere: they are to fictional people."""

    def email(self, to: str, subject: str, body: str) -> None:
        return None

    def sms(self, to: str, body: str) -> None:
        return None


def send_or_log(outbox: Outbox, channel: str, to: str, subject: str, body: str, what: str) -> bool:
    """Send by ``channel`` ("email", else a text), for a message whose failure must not undo
    what it announces (a sign-in code, a portal invitation, "a message waits"): the provider's
    error is logged as ``what`` could not be sent, and False returned."""
    try:
        if channel == "email":
            outbox.email(to, subject, body)
        else:
            outbox.sms(to, body)
    except Exception:
        log.exception("%s could not be sent", what)
        return False
    return True


DELIVER = DeploymentOutbox()
DISCARD = DiscardOutbox()
