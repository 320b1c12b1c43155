"""Every refusal an action raises and a page shows is one ActionRefused (ketacare.refusals)."""

import pytest
from django.core.exceptions import ValidationError

from ketacare.accounts.actions import StaffError
from ketacare.accounts.reauth import SignatureRefused
from ketacare.inventory.actions import StockError
from ketacare.measures.actions import LinkError
from ketacare.measures.contact import ContactRefused
from ketacare.patients.actions import EditConflict
from ketacare.planning.actions import PlanningError
from ketacare.refusals import ActionRefused
from ketacare.scheduling.actions import SchedulingError
from ketacare.treatments.actions import SessionError
from ketacare.treatments.rems_actions import RemsError


@pytest.mark.parametrize(
    "refusal",
    [
        SessionError,
        StockError,
        PlanningError,
        LinkError,
        RemsError,
        ContactRefused,
        SignatureRefused,
        EditConflict,
        SchedulingError,
    ],
)
def test_each_refusal_is_an_action_refused(refusal: type[Exception]) -> None:
    assert issubclass(refusal, ActionRefused)
    assert issubclass(refusal, ValueError)


def test_what_a_refusal_carries_stays_on_it() -> None:
    error = SessionError("Not yet.", fixes=("consent",))
    assert str(error) == "Not yet." and error.fixes == ("consent",)
    assert LinkError("Expired.", 410).status == 410
    assert str(SignatureRefused()) != ""


def test_a_staff_refusal_stays_a_validation_error() -> None:
    # The staff pages place field-keyed ValidationErrors from the same actions on their fields.
    assert issubclass(StaffError, ValidationError)
    assert not issubclass(StaffError, ActionRefused)
