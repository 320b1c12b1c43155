from decimal import Decimal

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from ketacare.clinical.eligibility import load_rules
from ketacare.planning.answers import ROUTE_LABELS, name_fields

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


@register.filter(is_safe=True)
def field_labels(text: str) -> SafeString:
    """Field paths in ``text`` named as the form names them ("vitals.systolic > 150" →
    "Systolic BP (mmHg) > 150"). Escaped first (or already, after ``join``), so it can follow
    another filter; paths and labels hold no markup."""
    return mark_safe(name_fields(conditional_escape(text)))  # noqa: S308 - escaped above


@register.filter
def route_label(route: str) -> str:
    """A route as staff read it ("iv_ketamine" → "IV racemic ketamine"); "all" is every route."""
    return "Every route" if route == "all" else ROUTE_LABELS.get(route, route)


@register.filter
def rule_text(rule_id: str) -> str:
    """What a rule says (its rationale), for pages that hold only its id, such as an override's
    list of the rules it covers."""
    rationale = {rule.id: rule.rationale for rule in load_rules().rules}
    return rationale.get(rule_id, rule_id.replace("_", " "))
