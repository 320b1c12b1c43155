"""The audit log's date filter out of bounds (issue 13: 9999-12-31 was a server error): the
form says why."""

import pytest
from django.urls import reverse

CALENDAR_ENDS = ["0001-01-01", "9999-12-31"]
BOUNDS_MESSAGE = "must be between 1900-01-01 and"


@pytest.mark.parametrize("field", ["date_from", "date_to"])
@pytest.mark.parametrize("day", CALENDAR_ENDS)
def test_the_audit_filter_refuses_a_date_out_of_bounds(field, day, clinic_admin, as_user):
    response = as_user(clinic_admin).get(reverse("audit-log"), {field: day})
    assert response.status_code == 200
    assert BOUNDS_MESSAGE in " ".join(response.context["form"].errors[field])
