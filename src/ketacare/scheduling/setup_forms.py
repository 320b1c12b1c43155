"""The setup pages' forms: chairs, opening hours, closures, the rota and absences, and payers'
authorisations. They parse (times typed on the clinic's wall clock, read in its time zone);
what may be set is judged by the actions (``scheduling.actions``), whose refusal the page
shows among the form's errors."""

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

from django import forms
from django.utils import timezone

from ketacare.accounts.models import Clinic, Membership
from ketacare.bounds import BoundedDateField, BoundedDateTimeField
from ketacare.scheduling.actions.common import column_length
from ketacare.scheduling.forms import DATE_INPUT, TIME_INPUT, WEEKDAYS
from ketacare.scheduling.models import Authorisation, Capability, Chair, OpeningHours
from ketacare.web.widgets import text_area

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
WHOLE_CLINIC = ""


class InClinicZone(forms.Form):
    """A form whose date-times are typed on the clinic's wall clock: Django reads a naive
    date-time in the current time zone, so cleaning runs with the clinic's zone current (a
    time a daylight-saving change skips is then refused by the field, not guessed)."""

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic

    def full_clean(self) -> None:
        with timezone.override(self.clinic.zone):
            super().full_clean()


class NewChairForm(forms.Form):
    name = forms.CharField(label="Name", max_length=column_length(Chair, "name"))
    capabilities = forms.MultipleChoiceField(
        label="Can host",
        choices=Capability.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class ChairForm(NewChairForm):
    active = forms.BooleanField(
        label="In use", required=False, initial=True, help_text="Untick to retire the chair."
    )

    @classmethod
    def of(cls, chair: Chair, data: Any = None) -> "ChairForm":
        """The edit form of ``chair``, its fields prefixed with its id so that every chair's
        form on the page has inputs of its own."""
        initial = {"name": chair.name, "capabilities": chair.capabilities, "active": chair.active}
        return cls(data, initial=initial, prefix=f"chair{chair.pk}")


class OpeningHoursForm(forms.Form):
    """The clinic's week, a row per weekday: open or not, and from when to when."""

    def __init__(self, data: Any = None, *, hours: Iterable[OpeningHours] = ()) -> None:
        initial: dict[str, Any] = {}
        for row in hours:
            initial |= {
                f"open_{row.weekday}": True,
                f"opens_{row.weekday}": row.opens,
                f"closes_{row.weekday}": row.closes,
            }
        super().__init__(data, initial=initial)
        for value, name in WEEKDAYS:
            self.fields[f"open_{value}"] = forms.BooleanField(
                label=f"Open on {name}s", required=False
            )
            self.fields[f"opens_{value}"] = forms.TimeField(
                label=f"{name}: opens at", required=False, widget=TIME_INPUT
            )
            self.fields[f"closes_{value}"] = forms.TimeField(
                label=f"{name}: closes at", required=False, widget=TIME_INPUT
            )

    def rows(self) -> list[dict[str, Any]]:
        """The bound fields weekday by weekday, for the page's table."""
        return [
            {
                "name": name,
                "open": self[f"open_{value}"],
                "opens": self[f"opens_{value}"],
                "closes": self[f"closes_{value}"],
            }
            for value, name in WEEKDAYS
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for value, name in WEEKDAYS:
            if not data.get(f"open_{value}"):
                continue
            opens, closes = data.get(f"opens_{value}"), data.get(f"closes_{value}")
            if opens is None or closes is None:
                self.add_error(
                    f"opens_{value}", f"Say when the clinic opens and closes on {name}s."
                )
            elif closes <= opens:
                self.add_error(
                    f"closes_{value}", f"On {name}s the clinic must close after it opens."
                )
        return data

    def hours(self) -> dict[int, tuple[time, time]]:
        """``{weekday: (opens, closes)}`` for the weekdays ticked open, as the action takes it."""
        data = self.cleaned_data
        return {
            int(value): (data[f"opens_{value}"], data[f"closes_{value}"])
            for value, _ in WEEKDAYS
            if data.get(f"open_{value}")
        }


class ClosureForm(InClinicZone):
    chair = forms.ChoiceField(label="What closes", required=False)
    start = BoundedDateTimeField(label="From", widget=DATETIME_INPUT)
    end = BoundedDateTimeField(label="To", widget=DATETIME_INPUT)
    reason = forms.CharField(label="Why", max_length=500, widget=text_area(2))

    def __init__(self, *args: Any, chairs: Iterable[Chair], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        chair = self.fields["chair"]
        assert isinstance(chair, forms.ChoiceField)
        chair.choices = [(WHOLE_CLINIC, "The whole clinic")] + [
            (str(c.pk), c.name) for c in chairs if c.active
        ]

    def chair_id(self) -> int | None:
        value = self.cleaned_data.get("chair")
        return int(value) if value else None


def staff_choices(members: Iterable[Membership]) -> list[tuple[str, str]]:
    return [("", "—")] + [
        (str(m.user_id), f"{m.user.get_full_name() or m.user} ({m.get_role_display()})")
        for m in members
    ]


class StaffForm(InClinicZone):
    """A form naming one of the clinic's staff members (``members``, already read)."""

    staff = forms.ChoiceField(label="Staff member")

    def __init__(self, *args: Any, members: Iterable[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        staff = self.fields["staff"]
        assert isinstance(staff, forms.ChoiceField)
        staff.choices = staff_choices(members)

    def staff_id(self) -> int:
        return int(self.cleaned_data["staff"])


class ShiftForm(StaffForm):
    day = BoundedDateField(label="Day", widget=DATE_INPUT)
    start = forms.TimeField(label="From", widget=TIME_INPUT)
    end = forms.TimeField(label="To", widget=TIME_INPUT)

    def span(self) -> tuple[datetime, datetime]:
        """The shift's start and end on the day, in the clinic's time zone."""
        day: date = self.cleaned_data["day"]
        zone = self.clinic.zone
        return (
            datetime.combine(day, self.cleaned_data["start"], tzinfo=zone),
            datetime.combine(day, self.cleaned_data["end"], tzinfo=zone),
        )


class AbsenceForm(StaffForm):
    start = BoundedDateTimeField(label="Away from", widget=DATETIME_INPUT)
    end = BoundedDateTimeField(label="Back at", widget=DATETIME_INPUT)
    reason = forms.CharField(label="Why", max_length=500)


class AuthorisationForm(forms.Form):
    payer = forms.CharField(label="Payer", max_length=column_length(Authorisation, "payer"))
    reference = forms.CharField(
        label="Authorisation reference", max_length=column_length(Authorisation, "reference")
    )
    approved_sessions = forms.IntegerField(label="Sessions approved", min_value=1, max_value=999)
    valid_from = BoundedDateField(label="Valid from", widget=DATE_INPUT)
    valid_to = BoundedDateField(label="Valid until", widget=DATE_INPUT)
