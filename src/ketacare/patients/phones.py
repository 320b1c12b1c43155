"""Finding patients by a phone number however it was typed: the reminders' STOP by text, the
portal's sign-in by phone."""

from django.db.models import QuerySet

from ketacare.patients.models import Patient


def digits(phone: str) -> str:
    """A phone number's last ten digits: "+1 (555) 010-2030" and "555-010-2030" match."""
    return "".join(c for c in phone if c.isdigit())[-10:]


def with_phone(patients: QuerySet[Patient], number: str) -> list[Patient]:
    """Those of ``patients`` whose phone has these ``digits``: narrowed in SQL by the last four
    (stored numbers keep their spaces and dashes), then compared digit for digit."""
    candidates = patients.filter(phone__contains=number[-4:])
    return [p for p in candidates if digits(p.phone) == number]
