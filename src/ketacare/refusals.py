"""The one base of the refusals an action raises and a page shows.

An action that will not do what it was asked raises a subclass of ``ActionRefused`` whose
message says why (and, where it can, what to do); nothing was written. A page catches
``ActionRefused`` once (``ketacare.web.submit``) instead of each app's own exception. It is a
``ValueError`` because every refusal began as one: bad input to an action, not a fault.
Subclasses keep what they carry beyond the message (``SessionError.fixes``,
``LinkError.status``, ``ContactRefused.refusal``)."""


class ActionRefused(ValueError):
    """An action refused; the message is safe to show and nothing was written."""
