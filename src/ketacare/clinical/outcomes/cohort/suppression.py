"""Small-cell suppression for the researcher role: a count below cohort.toml's
``small_cell_minimum`` is hidden, and so is whatever would give it away by subtraction within
one result. Each result type hides its own counts (``suppressed_below``, with ``hide_parts``
for a total and its parts); ``suppress`` applies the rule to any of them and to a flow.
``registry.disclosure`` then hides what would give a count away across results."""

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol, Self, TypeVar, overload

from ketacare.clinical.outcomes.cohort import config
from ketacare.clinical.outcomes.cohort.flow import FlowStep


def is_shown(value: int | None, minimum: int) -> bool:
    """Whether a count may be shown: known and at least ``minimum``."""
    return value is not None and value >= minimum


def hide_parts(
    total: int | None, parts: Sequence[int | None], minimum: int
) -> tuple[int | None, list[int | None]]:
    """Hide a total below the minimum (with all its parts), every part below it, and, when a
    single part would be hidden while the total shows, the next smallest part as well, so the
    hidden one cannot be recovered by subtraction."""
    if not is_shown(total, minimum):
        return None, [None] * len(parts)
    shown: list[int | None] = [p if is_shown(p, minimum) else None for p in parts]
    hidden = [i for i, p in enumerate(shown) if p is None]
    if len(hidden) == 1:
        others = [(p, i) for i, p in enumerate(shown) if p is not None]
        if others:
            shown[min(others)[1]] = None
        else:
            return None, shown
    return total, shown


class _Suppressible(Protocol):
    def suppressed_below(self, minimum: int) -> Self: ...


R = TypeVar("R", bound=_Suppressible)


@overload
def suppress(result: list[FlowStep], minimum: int | None = None) -> list[FlowStep]: ...


@overload
def suppress(result: R, minimum: int | None = None) -> R: ...


def suppress(result: Any, minimum: int | None = None) -> Any:
    """The result as the researcher role may see it: every count below ``minimum`` (default:
    ``small_cell_minimum`` of cohort.toml, 11; 0 counts as small too) becomes None, and so does
    everything computed from it (rates, intervals, quartiles, curve points) and any count from
    which a hidden one could be recovered by subtraction. Objects that lost something have
    ``suppressed = True``. Works on every result type of this package and on a flow."""
    minimum = config.settings().small_cell_minimum if minimum is None else minimum
    if isinstance(result, list):
        return _suppress_flow(result, minimum)
    return result.suppressed_below(minimum)


def _suppress_flow(steps: list[FlowStep], minimum: int) -> list[FlowStep]:
    shown: list[FlowStep] = []
    previous_count: int | None = None  # the true count of the previous step
    previous_hidden = False
    for step in steps:
        count, dropped = step.count, step.dropped
        if previous_count is None:  # the first step
            count = count if is_shown(count, minimum) else None
        else:
            _, (count, dropped) = hide_parts(previous_count, [count, dropped], minimum)
            if previous_hidden:
                dropped = None  # with the count shown it would give the hidden previous one
        share = step.share_of_previous if count is not None and not previous_hidden else None
        changed = (count, dropped, share) != (step.count, step.dropped, step.share_of_previous)
        shown.append(
            replace(step, count=count, dropped=dropped, share_of_previous=share, suppressed=changed)
        )
        previous_count, previous_hidden = step.count, count is None
    return shown
