"""The form that books one appointment from a page. It parses; whether the appointment may be
booked there is judged by ``actions.book``, whose refusal the page shows next to the form."""

from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms

from ketacare.accounts.models import Clinic
from ketacare.bounds import BoundedDateField, BoundedIntegerField
from ketacare.planning.models import PlannedSession
from ketacare.scheduling.calendar import clinic_staff
from ketacare.scheduling.forms import DATE_INPUT, TIME_INPUT, chair_choices
from ketacare.scheduling.models import LONGEST, Appointment

Kind = Appointment.Kind
# The longest appointment the book takes, in minutes: a longer one is a typo, said by the form.
LONGEST_MINUTES = int(LONGEST["appointment"].total_seconds() // 60)


def session_label(session: PlannedSession) -> str:
    return f"Session {session.number} (planned {session.date:%a %Y-%m-%d})"


class BookOneForm(forms.Form):
    """One appointment for a chosen patient: kind, wall-clock day and start in the clinic's
    zone, length, chair, staff member, the ride home and, for a dose, the plan's session."""

    kind = forms.ChoiceField(label="Appointment", choices=Kind.choices)
    day = BoundedDateField(label="Day", widget=DATE_INPUT)
    start = forms.TimeField(label="Starts at", widget=TIME_INPUT)
    length = BoundedIntegerField(
        label="Length (minutes)",
        min_value=1,
        max_value=LONGEST_MINUTES,
        required=False,
        help_text="Blank for a dose: the protocol's care time.",
    )
    chair = forms.ChoiceField(label="Chair", required=False)
    staff = forms.ChoiceField(label="Staff member", required=False)
    transport_arranged = forms.BooleanField(
        label="Transport home is arranged (a dose)", required=False
    )
    planned = forms.ChoiceField(label="Session of the signed plan (a dose)", required=False)

    def __init__(
        self,
        *args: Any,
        clinic: Clinic,
        sessions: list[PlannedSession],
        care_minutes: int | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.care_minutes = care_minutes
        choices = {
            "chair": chair_choices(clinic),
            "staff": [("", "—")]
            + [(str(u.pk), u.get_full_name() or u.username) for u in clinic_staff(clinic)],
            "planned": [("", "None (a dose outside the plan's sessions)")]
            + [(str(s.pk), session_label(s)) for s in sessions],
        }
        for name, values in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = values

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("length") is None and "length" not in self.errors:
            if data.get("kind") == Kind.DOSING and self.care_minutes is not None:
                data["length"] = self.care_minutes
            else:
                self.add_error("length", "Give the appointment's length in minutes.")
        return data

    def span(self) -> tuple[datetime, datetime]:
        """The start, a wall-clock time in the clinic's zone, and the end that many minutes
        of elapsed time later (through a daylight-saving change too)."""
        data = self.cleaned_data
        start = datetime.combine(data["day"], data["start"], tzinfo=self.clinic.zone)
        end = start.astimezone(UTC) + timedelta(minutes=data["length"])
        return start, end.astimezone(self.clinic.zone)

    def chosen(self, name: str) -> int | None:
        """The id chosen in ``chair``, ``staff`` or ``planned`` (one of the choices offered,
        which are the clinic's own), or None."""
        value = self.cleaned_data.get(name)
        return int(value) if value else None
