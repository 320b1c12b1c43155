import pytest
from django.contrib.auth.hashers import identify_hasher
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD


def test_passwords_are_hashed_with_argon2(nurse):
    assert identify_hasher(nurse.password).algorithm == "argon2"


def test_account_locks_after_five_failures_even_with_the_right_password(nurse):
    client = Client()
    for _ in range(5):
        response = client.post(reverse("login"), {"username": "nurse", "password": "wrong-guess"})
    response = client.post(reverse("login"), {"username": "nurse", "password": PASSWORD})
    assert response.status_code == 429
    assert "Account locked" in response.content.decode()
    # Another member of staff is not locked out by it.
    assert Client().get(reverse("login")).status_code == 200


def test_failed_login_shows_a_message_and_records_nothing_else(nurse):
    response = Client().post(reverse("login"), {"username": "nurse", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_content_security_policy_allows_no_inline_script(as_user, nurse):
    response = as_user(nurse).get(reverse("patient-list"))
    policy = response["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in policy
    assert "<script>" not in response.content.decode()
    assert response["X-Frame-Options"] == "DENY"


def test_cookies_are_secure_http_only_outside_the_demo(settings):
    # tests run with the production defaults: no KETACARE_INSECURE_COOKIES, DEBUG off
    assert settings.SESSION_COOKIE_SECURE
    assert settings.CSRF_COOKIE_SECURE
    assert settings.SESSION_COOKIE_HTTPONLY
    assert not settings.DEBUG


def test_forms_require_csrf_token(nurse):
    client = Client(enforce_csrf_checks=True)
    client.force_login(nurse)
    response = client.post(reverse("patient-new"), {"given_name": "A"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("role", "landing"),
    [
        ("nurse", "/board/"),
        ("prescriber", "/board/"),
        ("clinic_admin", "/board/"),
        ("coordinator", "/patients/"),
        ("researcher", "/registry/"),
    ],
)
def test_signing_in_lands_on_the_roles_start_page(role, landing, staff, client):
    response = client.post(
        reverse("login"), {"username": staff[role].username, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == landing
    assert response.status_code == 200
