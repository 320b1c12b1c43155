"""Each role starts on the page of its working day (the "ketacare" link, and "/")."""

import pytest
from django.urls import reverse

from tests.conftest import client_for

LANDING = [
    ("nurse", "chair-board"),
    ("prescriber", "chair-board"),
    ("clinic_admin", "chair-board"),
    ("coordinator", "patient-list"),
    ("researcher", "registry-dashboard"),
]


@pytest.mark.parametrize(("role", "page"), LANDING)
def test_each_role_lands_on_its_page(staff, role, page):
    response = client_for(staff[role]).get(reverse("home"), follow=True)
    assert response.redirect_chain == [(reverse(page), 302)]
    assert response.status_code == 200


def test_anonymous_is_asked_to_sign_in(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
