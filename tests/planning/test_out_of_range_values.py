"""Rescheduling a session out of bounds (issue 13: 9999-12-31 was a server error): refused
with a message on the page and by the action; no session moves."""

from datetime import date

import pytest
from django.urls import reverse

from ketacare.planning import actions as planning
from ketacare.planning.actions import PlanningError
from tests.conftest import actor

BOUNDS_MESSAGE = "must be between 1900-01-01 and"


def test_a_session_cannot_move_out_of_bounds(plan, coordinator, clinic, as_user):
    before = list(plan.sessions.values_list("date", flat=True))
    response = as_user(coordinator).post(
        reverse("plan-reschedule", args=[plan.pk]), {"number": "2", "new_date": "9999-12-31"}
    )
    assert response.status_code == 200
    assert BOUNDS_MESSAGE in " ".join(response.context["form"].errors["new_date"])
    with pytest.raises(PlanningError, match=f"The new date {BOUNDS_MESSAGE}"):
        planning.reschedule_session(actor(coordinator, clinic), plan.pk, 2, date(9999, 12, 31))
    assert list(plan.sessions.values_list("date", flat=True)) == before
