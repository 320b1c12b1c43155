"""Signing in, signing out and failed sign-in attempts are in the audit trail, through the real
login form (with django-axes in the authentication path)."""

from django.conf import settings
from django.test import Client
from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.audit.verify import verify_chain
from tests.conftest import PASSWORD


def sign_in(client, username, password=PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_successful_login_is_recorded(clinic, nurse):
    client = Client(REMOTE_ADDR="203.0.113.20")
    response = sign_in(client, "nurse")
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="login")
    assert event.actor == nurse
    assert event.actor_username == "nurse"
    assert event.role == "nurse"
    assert event.clinic == clinic
    assert event.ip == "203.0.113.20"
    assert (event.object_type, event.object_id) == ("user", str(nurse.pk))
    assert verify_chain().ok


def test_logout_is_recorded(clinic, nurse):
    client = Client(REMOTE_ADDR="203.0.113.21")
    sign_in(client, "nurse")
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="logout")
    assert (event.actor, event.role, event.clinic, event.ip) == (
        nurse,
        "nurse",
        clinic,
        "203.0.113.21",
    )
    login = AuditEvent.objects.get(action="login")
    assert event.pk > login.pk
    assert verify_chain().ok


def test_logout_when_not_signed_in_writes_nothing(db):
    Client().post(reverse("logout"))
    assert not AuditEvent.objects.filter(action="logout").exists()


def test_wrong_password_is_recorded_without_the_password(nurse):
    client = Client(REMOTE_ADDR="203.0.113.22")
    response = sign_in(client, "nurse", password="not the password at all")
    assert response.status_code == 200
    assert response.context["form"].errors
    event = AuditEvent.objects.get(action="login_failed")
    assert event.actor is None
    assert event.actor_username == "anonymous"
    assert event.changes == {"username": "nurse"}
    assert event.ip == "203.0.113.22"
    # Filed under the account's clinic, so its admins see attempts on their staff's accounts.
    assert event.clinic == nurse.memberships.get().clinic
    assert not AuditEvent.objects.filter(action="login").exists()
    stored = " ".join(str(v) for v in AuditEvent.objects.values_list("changes", flat=True))
    assert "not the password" not in stored
    assert verify_chain().ok


def test_unknown_username_is_recorded(db):
    sign_in(Client(), "mallory", password="guess guess guess")
    event = AuditEvent.objects.get(action="login_failed")
    assert event.changes == {"username": "mallory"}
    assert event.clinic is None


def test_each_failed_attempt_is_recorded_including_during_lockout(nurse):
    client = Client()
    attempts = settings.AXES_FAILURE_LIMIT + 2
    for i in range(attempts):
        sign_in(client, "nurse", password=f"wrong password number {i}")
    assert AuditEvent.objects.filter(action="login_failed").count() == attempts
    # Locked out now: even the right password does not sign in, and no login is recorded.
    response = sign_in(client, "nurse")
    assert not response.wsgi_request.user.is_authenticated
    assert not AuditEvent.objects.filter(action="login").exists()
    assert verify_chain().ok


def test_login_logout_login_sequence_is_chained(nurse):
    client = Client()
    sign_in(client, "nurse", password="typo typo typo")
    sign_in(client, "nurse")
    client.post(reverse("logout"))
    sign_in(client, "nurse")
    actions = list(
        AuditEvent.objects.filter(object_type="user", action__startswith="log")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["login_failed", "login", "logout", "login"]
    assert verify_chain().ok
