"""Clinical language for staff pages, one place for every app: identifiers become words,
sources become readable citations linked to the clinical reference (``/reference/``).

    {% load clinical_text %}
    {{ band|words }}              moderately_severe → Moderately severe
    {{ "phq9"|instrument }}       phq9 → PHQ-9
    {{ rule.source|citation }}    "… (clinical-reference §3) [unverified]" → a linked citation

Rule ids stay in the audit trail and the API; pages show their messages.
"""

import re

from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ketacare.clinical.instruments import INSTRUMENT_IDS, get

register = template.Library()

_SECTION = re.compile(r"clinical-reference (§\d+(?:\s*[–-]\s*§?\d+)?(?:,\s*§\d+)*)")
_CONFIDENCE = re.compile(
    r"\[(confirmed|secondary|unverified)((?:, [a-z ]+)?)\]", flags=re.IGNORECASE
)
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$|^[a-z]+$")


@register.filter
def words(identifier: object) -> str:
    """A snake_case identifier as words with a capital: ``moderately_severe`` → "Moderately
    severe". Anything else is returned as it is."""
    text = str(identifier if identifier is not None else "")
    if not _SNAKE.match(text):
        return text
    spaced = text.replace("_", " ")
    return spaced[:1].upper() + spaced[1:]


@register.filter
def instrument(instrument_id: object) -> str:
    """The instrument's short name (``phq9`` → "PHQ-9")."""
    key = str(instrument_id)
    return get(key).short_name if key in INSTRUMENT_IDS else key


def _reference_link(match: re.Match[str]) -> str:
    sections = match.group(1)
    first = re.search(r"\d+", sections)
    anchor = f"#section-{first.group(0)}" if first else ""
    return (
        f'<a class="citation" href="{reverse("clinical-reference")}{anchor}">'
        f"clinical reference {sections}</a>"
    )


@register.filter(is_safe=True)
def citation(source: object) -> SafeString:
    """A data file's ``source`` as staff read it: the clinical-reference sections link to the
    reference page and the confidence marks become small labels."""
    text: str = escape(str(source or ""))
    text = _SECTION.sub(_reference_link, text)
    text = _CONFIDENCE.sub(
        lambda m: (
            f'<span class="confidence confidence-{m.group(1).lower()}">'
            f"{m.group(1).lower()}{m.group(2)}</span>"
        ),
        text,
    )
    return mark_safe(text)  # noqa: S308 - built from escaped text and fixed markup
