"""The patient chart's messages section: the latest of the portal thread and the reply form.
The chart loads it (as it loads the reminders' attendance line) so the chart's view needs no
knowledge of the portal; it costs one query, and none for a role that may not read them."""

from typing import Any

from django import template

from ketacare.patients.models import Patient
from ketacare.portal import messaging

register = template.Library()

# The chart shows the latest so many; the whole thread is the patient's portal's.
SHOWN = 20


@register.inclusion_tag("portal/staff/_chart_messages.html", takes_context=True)
def chart_messages(context: template.Context, patient: Patient) -> dict[str, Any]:
    can = context.get("can") or {}
    shown = can.get("messages_view", False)
    return {
        "patient": patient,
        "can": can,
        "shown": shown,
        "thread": messaging.thread(patient, last=SHOWN) if shown else [],
        "limit": messaging.policy()["max_characters"],
        "zone": context.get("zone"),
        "csrf_token": context.get("csrf_token"),
    }
