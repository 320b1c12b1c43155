"""The appointment book's forms. They parse; what may be booked where is judged by the actions
(``scheduling.actions``), whose refusal the page shows next to the form."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms

from ketacare.accounts.models import Clinic, Membership
from ketacare.accounts.permissions import Role
from ketacare.bounds import BoundedDateField
from ketacare.scheduling import rules
from ketacare.scheduling.models import Chair
from ketacare.web.widgets import text_area

WEEKDAYS = [(str(n), date(2024, 1, 1 + n).strftime("%A")) for n in range(7)]
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATE_INPUT = forms.DateInput(attrs={"type": "date"})


def nurse_choices(clinic: Clinic) -> list[tuple[str, str]]:
    members = Membership.objects.filter(
        clinic=clinic, role=Role.NURSE, active=True, user__is_active=True
    ).select_related("user")
    return [("", "—")] + [(str(m.user_id), m.user.get_full_name() or str(m.user)) for m in members]


class SeriesForm(forms.Form):
    """The patient's preferred times and who watches the sessions, for "book the induction"."""

    weekdays = forms.MultipleChoiceField(
        label="Preferred days",
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any day the clinic is open.",
    )
    earliest = forms.TimeField(label="Starting no earlier than", required=False, widget=TIME_INPUT)
    latest = forms.TimeField(label="Starting no later than", required=False, widget=TIME_INPUT)
    staff = forms.ChoiceField(label="Nurse", required=False)
    transport_arranged = forms.BooleanField(
        label="Transport home is arranged for every session", required=False
    )

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        staff = self.fields["staff"]
        assert isinstance(staff, forms.ChoiceField)
        staff.choices = nurse_choices(clinic)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        earliest, latest = data.get("earliest"), data.get("latest")
        if earliest and latest and latest < earliest:
            self.add_error("latest", "The latest start must not be before the earliest.")
        return data

    def preference(self) -> rules.Preference | None:
        """The preferred times, or None when the patient gave none."""
        data = self.cleaned_data
        days = frozenset(int(d) for d in data.get("weekdays") or [])
        earliest, latest = data.get("earliest"), data.get("latest")
        if not days and earliest is None and latest is None:
            return None
        return rules.Preference(
            days or frozenset(range(7)), earliest or time(0), latest or time(23, 59)
        )

    def staff_id(self) -> int | None:
        value = self.cleaned_data.get("staff")
        return int(value) if value else None


def chair_choices(clinic: Clinic) -> list[tuple[str, str]]:
    chairs = Chair.objects.filter(clinic=clinic, active=True)
    return [("", "No chair (telehealth)")] + [(str(c.pk), c.name) for c in chairs]


class MoveForm(forms.Form):
    """A new day, time and chair for one appointment; it keeps its length."""

    day = BoundedDateField(label="Day", widget=DATE_INPUT)
    start = forms.TimeField(label="Starts at", widget=TIME_INPUT)
    chair = forms.ChoiceField(label="Chair", required=False)
    reason = forms.CharField(label="Why", max_length=500, required=False)

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        chair = self.fields["chair"]
        assert isinstance(chair, forms.ChoiceField)
        chair.choices = chair_choices(clinic)

    def span(self, length: timedelta) -> tuple[datetime, datetime]:
        """The new start and end, the start a wall-clock time in the clinic's zone; the end
        ``length`` of elapsed time later (through UTC: across a daylight-saving change the
        wall clock would be an hour out)."""
        start = datetime.combine(
            self.cleaned_data["day"], self.cleaned_data["start"], tzinfo=self.clinic.zone
        )
        return start, (start.astimezone(UTC) + length).astimezone(self.clinic.zone)

    def chair_id(self) -> int | None:
        value = self.cleaned_data.get("chair")
        return int(value) if value else None


class CancelForm(forms.Form):
    reason = forms.CharField(label="Why is it cancelled?", max_length=500, widget=text_area(2))
