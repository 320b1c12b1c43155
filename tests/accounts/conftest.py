import pytest

from ketacare.accounts.actions import create_staff
from ketacare.actor import SYSTEM
from tests.conftest import PASSWORD


@pytest.fixture
def other_admin(other_clinic):
    """A clinic admin at another clinic."""
    return create_staff(
        SYSTEM, clinic=other_clinic, username="other-admin", password=PASSWORD, role="clinic_admin"
    )


def membership(user):
    """The user's one membership."""
    return user.memberships.get()
