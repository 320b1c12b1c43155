"""Tokens and clients for the API tests."""

import pytest
from django.test import Client

from ketacare.accounts.models import Membership
from ketacare.api import actions
from tests.conftest import actor


def token_for(user, clinic, lifetime_days=30, moment=None) -> str:
    """A new token's text for ``user`` in their role at ``clinic``."""
    role = Membership.objects.get(user=user, clinic=clinic).role
    who = actor(user, clinic, role)
    if moment is not None:
        who = who.at(moment)
    return actions.create_token(who, "test script", lifetime_days)[1]


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def api_client(user, clinic) -> Client:
    return bearer(token_for(user, clinic))


@pytest.fixture
def api_as(clinic):
    """A client sending a fresh token of the given user at the clinic."""
    return lambda user: api_client(user, clinic)


def error_of(response, status: int) -> dict:
    """The error body of a refusal, checked for its shape and status."""
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "fields"}
    assert isinstance(error["message"], str) and error["message"]
    return error
