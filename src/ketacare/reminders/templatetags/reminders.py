"""The patient chart's line of missed and late-cancelled appointments."""

from typing import Any

from django import template

from ketacare.patients.models import Patient
from ketacare.reminders.queries import attendance

register = template.Library()


@register.inclusion_tag("reminders/_attendance.html")
def attendance_line(patient: Patient) -> dict[str, Any]:
    return {"attendance": attendance(patient)}
