from typing import Any

from django import forms
from django.core.validators import MaxValueValidator

from ketacare.api import actions


class NewTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “billing export”.")
    lifetime_days = forms.IntegerField(label="Lifetime (days)", min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        policy = actions.policy()
        longest = int(policy["max_lifetime_days"])
        field = self.fields["lifetime_days"]
        field.validators.append(MaxValueValidator(longest))
        field.widget.attrs["max"] = longest
        field.initial = int(policy["default_lifetime_days"])
        field.help_text = f"At most {longest} days (clinic policy)."
