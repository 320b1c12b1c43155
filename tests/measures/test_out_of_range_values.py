"""A questionnaire's completion time out of bounds (issue 13: completed_at 0001-01-01 was a
server error in a time zone ahead of UTC): refused on the page and by the action."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from ketacare.bounds import OutOfBounds
from ketacare.measures import actions as measures
from ketacare.measures.models import QuestionnaireResponse
from tests.conftest import actor
from tests.measures.helpers import PHQ9_NO_RISK, staff_form_data

BOUNDS_MESSAGE = "must be between 1900-01-01 and"

# Fourteen hours ahead of UTC: midnight on 0001-01-01 there is a time UTC cannot hold.
FAR_EAST = "Pacific/Kiritimati"


@pytest.fixture
def far_east(settings):
    settings.TIME_ZONE = FAR_EAST


def test_a_questionnaire_completed_out_of_bounds_is_refused(
    far_east, patient, nurse, clinic, as_user
):
    data = {**staff_form_data(PHQ9_NO_RISK), "completed_at": "0001-01-01T00:00"}
    response = as_user(nurse).post(reverse("measure-enter", args=[patient.pk, "phq9"]), data)
    assert response.status_code == 200
    assert BOUNDS_MESSAGE in " ".join(response.context["form"].errors["completed_at"])
    with pytest.raises(OutOfBounds, match=f"The completion date {BOUNDS_MESSAGE}"):
        measures.record_staff_response(
            actor(nurse, clinic), patient, "phq9", PHQ9_NO_RISK, datetime(1, 1, 1, tzinfo=UTC)
        )
    assert not QuestionnaireResponse.objects.filter(patient=patient).exists()
