"""Portal fixtures: a patient with an email address, and signing in as them."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.conftest import make_patient

EMAIL = "ada@example.org"


@pytest.fixture
def portal_patient(clinic, nurse):
    return make_patient(nurse, clinic, email=EMAIL, phone="+1 555 010 2030")


def last_code() -> str:
    """The code in the latest email sent."""
    found = re.search(r"\b(\d{6})\b", mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return found.group(1)


def ask_for_code(client: Client, clinic, contact: str = EMAIL):
    return client.post(reverse("portal-sign-in", args=[clinic.pk]), {"contact": contact})


def signed_in_client(clinic, contact: str = EMAIL) -> Client:
    client = Client()
    ask_for_code(client, clinic, contact)
    response = client.post(reverse("portal-code", args=[clinic.pk]), {"code": last_code()})
    assert response.status_code == 302 and response["Location"] == reverse("portal-home")
    return client


@pytest.fixture
def portal_client(clinic, portal_patient):
    return signed_in_client(clinic)
