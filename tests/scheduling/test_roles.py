"""Each role may set up the book and book in it exactly as the permission table says: the
actions ask the table themselves (some are called from no page), so every role is tried."""

import pytest

from ketacare.accounts.permissions import allowed
from ketacare.scheduling import actions
from tests.conftest import ROLES, actor
from tests.scheduling.conftest import MONDAY, NOW, at, book, refused


@pytest.mark.parametrize("role", ROLES)
def test_setting_up_the_book_follows_the_table(role, staff, clinic):
    who = actor(staff[role], clinic, role).at(NOW)
    if allowed(role, "scheduling.setup"):
        assert actions.add_chair(who, "Chair 9", []).name == "Chair 9"
    else:
        assert refused(actions.add_chair, who, "Chair 9", []).startswith("Only these roles")


@pytest.mark.parametrize("role", ROLES)
def test_booking_follows_the_table(role, staff, clinic, chair, patient):
    who = actor(staff[role], clinic, role).at(NOW)
    if allowed(role, "scheduling.book"):
        assert book(who, patient, chair, at(MONDAY, 9)).chair == chair
    else:
        assert refused(book, who, patient, chair, at(MONDAY, 9)).startswith("Only these roles")
