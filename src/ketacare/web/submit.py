"""Running one action from a page: validate the form, call the action, and show either what
it did or why it refused (``ketacare.refusals.ActionRefused``; nothing was written then).

``submitted`` is for a page that shows its form again with the refusal among the form's
errors; ``attempted`` for one that shows the refusal as a message (a button, or a step whose
page is re-rendered by its caller)."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.forms import BaseForm
from django.http import HttpRequest

from ketacare.refusals import ActionRefused

# What a success says: the text, or (message level, text) for a success that needs a warning.
Said = str | tuple[int, str]


def attempted(
    request: HttpRequest,
    act: Callable[[], Any],
    success: Callable[[Any], Said] | Said,
    refused: Callable[[ActionRefused], object] | None = None,
) -> tuple[Any, ActionRefused | None]:
    """Call the action: (its result, None) with the success message added, or (None, the
    refusal) with the refusal shown by ``refused`` (by default as an error message)."""
    try:
        result = act()
    except ActionRefused as error:
        if refused is None:
            messages.error(request, str(error))
        else:
            refused(error)
        return None, error
    said = success(result) if callable(success) else success
    level, text = said if isinstance(said, tuple) else (messages.SUCCESS, said)
    messages.add_message(request, level, text)
    return result, None


def submitted(
    request: HttpRequest,
    form: BaseForm,
    act: Callable[[dict[str, Any]], Any],
    success: Callable[[Any], Said] | Said,
) -> tuple[bool, Any]:
    """Run the action on a valid POST: (True, its result), or (False, None) when nothing was
    done (a GET, an invalid form, or a refusal, which is added to the form's errors)."""
    if request.method != "POST" or not form.is_valid():
        return False, None
    result, refusal = attempted(
        request,
        lambda: act(form.cleaned_data),
        success,
        lambda error: form.add_error(None, str(error)),
    )
    return refusal is None, result
