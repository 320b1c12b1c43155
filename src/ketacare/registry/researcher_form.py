"""The cohort form of the researcher's (de-identified) dashboard: whole months, and one
characteristic at a time (see ``registry.disclosure``)."""

import calendar
import re
from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from ketacare.bounds import date_problem
from ketacare.registry.forms import CohortForm


class MonthInput(forms.TextInput):
    input_type = "month"


class MonthField(forms.Field):
    """A whole calendar month, written YYYY-MM: its first day (``last`` False) or its last.
    The researcher's date filters take nothing finer, so that no two ranges differ by a few
    days' patients and no day appears on the researcher's page."""

    widget = MonthInput

    def __init__(self, *, last: bool = False, **kwargs: Any) -> None:
        self.last = last
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> date | None:
        text = str(value or "").strip()
        if not text:
            return None
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise forms.ValidationError(
                f"The de-identified view filters by whole months: give {text[:7]}, not a day."
            )
        match = re.fullmatch(r"(\d{4})-(\d{2})", text)
        year, month = (int(match[1]), int(match[2])) if match else (0, 0)
        if not (year >= 1 and 1 <= month <= 12):
            raise forms.ValidationError("Give a month as YYYY-MM (e.g. 2026-03).")
        day = calendar.monthrange(year, month)[1] if self.last else 1
        # The plausible dates of every other form (ketacare.bounds), whole months of them.
        problem = date_problem(date(year, month, day), timezone.localdate(), "The month")
        if problem:
            raise forms.ValidationError(problem)
        return date(year, month, day)

    def prepare_value(self, value: Any) -> Any:
        return value.strftime("%Y-%m") if isinstance(value, date) else value


class ResearcherCohortForm(CohortForm):
    """The cohort form of the de-identified view: whole months, and one characteristic (sex,
    age, indication or route) at a time — see ``registry.disclosure``."""

    # Whole months in place of the base form's dates: another kind of field on purpose.
    start = MonthField(label="First dose from (month)", required=False)  # type: ignore[assignment]
    end = MonthField(label="to (month)", required=False, last=True)  # type: ignore[assignment]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        narrowed = [n for n in ("indication", "route", "age_band", "sex") if data.get(n)]
        if len(narrowed) > 1:
            raise forms.ValidationError(
                "The de-identified view narrows the cohort by one of sex, age, indication or "
                "route at a time (with two, figures of overlapping cohorts could be subtracted "
                "from one another). For finer cuts, use the research export under a data-use "
                "agreement."
            )
        return data
