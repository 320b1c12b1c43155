"""The chair board's date out of bounds (issue 13: ?date=0001-01-01 was a server error): the
board shows today, with a message naming the date."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

CALENDAR_ENDS = ["0001-01-01", "9999-12-31"]
BOUNDS_MESSAGE = "must be between 1900-01-01 and"


def flashed(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


@pytest.mark.parametrize("day", CALENDAR_ENDS)
def test_the_board_shows_today_with_a_message_for_a_date_out_of_bounds(day, nurse, as_user):
    response = as_user(nurse).get(reverse("chair-board"), {"date": day})
    assert response.status_code == 200
    assert response.context["day"] == timezone.localdate()
    assert f"The board's date {BOUNDS_MESSAGE}" in flashed(response)
