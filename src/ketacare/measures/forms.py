from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from ketacare.bounds import BoundedDateField, BoundedDateTimeField
from ketacare.clinical.instruments import AnswerError, Instrument
from ketacare.clinical.instruments.scoring import validate
from ketacare.measures.models import INSTRUMENT_CHOICES, Assignment, PatientLink
from ketacare.web.widgets import DateInput, datetime_input, text_area

if TYPE_CHECKING:
    # ModelForm takes its model as a parameter for mypy (django-stubs) only; at runtime it
    # is not subscriptable.
    _AssignmentModelForm = forms.ModelForm[Assignment]
else:
    _AssignmentModelForm = forms.ModelForm

SEX_CHOICES = [("female", pgettext_lazy("sex", "Female")), ("male", pgettext_lazy("sex", "Male"))]


def answers_form_class(
    instrument: Instrument, *, for_patient: bool, ask_sex: bool
) -> "type[AnswersForm]":
    """A form with one choice per item of ``instrument`` (in item order). Every item is required
    except those the instrument's skip logic may leave unasked (C-SSRS Q3-5 after a no to Q2):
    the form refuses them blank when they had to be asked, and the page hides them while the
    answer they follow is no (``measures/skip_logic.js``; without it they stay on show)."""
    fields: dict[str, forms.Field] = {}
    for item in instrument.items:
        choices = [
            (str(o.value), o.label if o.label != str(o.value) else str(o.value))
            for o in item.options
        ]
        if not for_patient and instrument.item_text_licensed:
            choices = [(value, f"{value} — {label}") for value, label in choices]
        after = instrument.requires.get(item.number)
        attrs: dict[str, str] = {}
        help_text = ""
        if after is not None:
            parent = instrument.items[after - 1]
            attrs = {"data-asked-after": f"item_{after}", "data-skip-when": str(parent.min_value)}
            help_text = _(
                "Asked only after a yes to %(question)s; leave it unanswered when "
                "%(question)s is no."
            ) % {"question": parent.label}
            if not for_patient:
                choices = [("", "— not asked —"), *choices]
        widget = forms.RadioSelect if for_patient else forms.Select
        fields[f"item_{item.number}"] = forms.TypedChoiceField(
            label=f"{item.number}. {item.label}",
            choices=choices,
            coerce=int,
            empty_value=None,
            required=after is None,
            help_text=help_text,
            widget=widget(attrs=attrs),
            error_messages={"required": _("Please choose an answer for this question.")},
        )
    if ask_sex:
        fields["sex"] = forms.ChoiceField(
            label=_("Sex (sets this questionnaire's cut-off)"),
            choices=SEX_CHOICES,
            widget=forms.RadioSelect,
        )
    if not for_patient:
        fields["completed_at"] = BoundedDateTimeField(
            label="Completed at",
            initial=timezone.localtime().replace(second=0, microsecond=0),
            widget=datetime_input(),
        )
    form_class = cast(
        "type[AnswersForm]", type(f"{instrument.id.title()}Form", (AnswersForm,), fields)
    )
    form_class.instrument = instrument
    return form_class


class AnswersForm(forms.Form):
    instrument: Instrument

    def answers(self) -> list[int]:
        """One answer per item, in item order (a question not asked counts as no)."""
        return [self.cleaned_data[f"item_{item.number}"] for item in self.instrument.items]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None, "Form.clean returns cleaned_data"
        if self.errors:
            return cleaned
        items = self.instrument.items
        for number, after in self.instrument.requires.items():
            item, parent = items[number - 1], items[after - 1]
            if cleaned.get(f"item_{number}") is not None:
                continue
            if cleaned[f"item_{after}"] == parent.min_value:
                cleaned[f"item_{number}"] = item.min_value  # not asked: counts as no
            else:
                self.add_error(
                    f"item_{number}",
                    _("%(question)s was answered yes, so this question must be answered too.")
                    % {"question": parent.label},
                )
        if not self.errors:
            # The instrument's own rules across items (e.g. C-SSRS Q3 only after a yes to Q2)
            # as a message on the form rather than an error page. Sex is checked by its field.
            try:
                validate(self.instrument, self.answers(), cleaned.get("sex") or "female")
            except AnswerError as error:
                raise forms.ValidationError(str(error)) from None
        return cleaned

    def clean_completed_at(self) -> datetime:
        completed_at: datetime = self.cleaned_data["completed_at"]
        if completed_at > timezone.now():
            raise forms.ValidationError("A questionnaire cannot be completed in the future.")
        return completed_at


class SendLinkForm(forms.Form):
    instrument_id = forms.ChoiceField(label="Questionnaire", choices=INSTRUMENT_CHOICES)
    channel = forms.ChoiceField(choices=PatientLink.Channel.choices)

    def __init__(
        self, *args: Any, instruments: Iterable[tuple[str, str]] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        instrument_id = self.fields["instrument_id"]
        assert isinstance(instrument_id, forms.ChoiceField)
        instrument_id.choices = list(instruments)


class AssignForm(_AssignmentModelForm):
    class Meta:
        model = Assignment
        fields = ["instrument_id", "schedule", "every_days", "starts_on"]
        labels = {"instrument_id": "Questionnaire", "every_days": "Every how many days"}
        field_classes = {"starts_on": BoundedDateField}
        widgets = {"starts_on": DateInput()}

    def __init__(
        self, *args: Any, instruments: Iterable[tuple[str, str]] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        instrument_id = self.fields["instrument_id"]
        assert isinstance(instrument_id, forms.ChoiceField)
        instrument_id.choices = list(instruments)
        self.fields["starts_on"].initial = timezone.localdate()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None, "ModelForm.clean returns cleaned_data"
        every = cleaned.get("every_days")
        if cleaned.get("schedule") == Assignment.Schedule.EVERY_N_DAYS and not every:
            self.add_error("every_days", "Say every how many days (1 or more).")
        if cleaned.get("schedule") != Assignment.Schedule.EVERY_N_DAYS:
            cleaned["every_days"] = None
        return cleaned


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        widget=text_area(3),
        max_length=2000,
        help_text="What you did: e.g. called the patient, safety plan reviewed, 988 given.",
        error_messages={"required": "Write what was done before acknowledging the alert."},
    )
