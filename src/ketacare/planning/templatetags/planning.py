from decimal import Decimal

from django import template

register = template.Library()

VERDICT_LABELS = {
    "eligible": "Eligible",
    "caution": "Caution",
    "needs_clearance": "Needs clearance",
    "exclude": "Excluded",
    "overridden": "Overridden",
}


@register.filter
def verdict_label(verdict: str) -> str:
    """A rules verdict as staff read it ("needs_clearance" → "Needs clearance")."""
    return VERDICT_LABELS.get(verdict, verdict)


@register.filter
def dose(value: Decimal | str | None) -> str:
    """A dose without trailing zeros: 0.50 → 0.5, 84.00 → 84."""
    if value in (None, ""):
        return ""
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
