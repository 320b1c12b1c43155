"""Staff change their own password, and must at first sign-in when someone else chose it. The
current password is a password prompt like sign-in: counted toward the lock-out, refused when
locked, audited, with one message for every failure."""

import json

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from ketacare.accounts.actions import create_clinic
from ketacare.accounts.models import User
from ketacare.actor import SYSTEM
from ketacare.audit.models import AuditEvent
from ketacare.web.demo_data import DEMO_PASSWORD, ensure_staff
from tests.accounts.reauth_checks import authenticator, code_for
from tests.accounts.reauth_checks import signed_in as reauth_signed_in
from tests.conftest import PASSWORD

URL = reverse("password-change")
NEW_PASSWORD = "lantern quarry velvet 84"
REFUSED = "Your current password was not accepted."


def signed_in(username: str, password: str = PASSWORD) -> Client:
    """A browser session signed in through the sign-in page, as a person would."""
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 302, "sign-in failed"
    return client


def change(client: Client, current: str, new: str = NEW_PASSWORD, again: str | None = None):
    return client.post(
        URL,
        {
            "current_password": current,
            "new_password": new,
            "new_password_again": new if again is None else again,
        },
    )


def failures(username: str) -> int:
    attempts = AccessAttempt.objects.filter(username__iexact=username)
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


def errors(response) -> str:
    return " ".join(
        message for messages in response.context["form"].errors.values() for message in messages
    )


def test_every_role_reaches_the_page_from_the_header(staff):
    for user in staff.values():
        page = signed_in(user.username).get(reverse("home"), follow=True).content.decode()
        assert f'href="{URL}"' in page
    assert signed_in("nurse").get(URL).status_code == 200


def test_a_nurse_changes_her_password_and_stays_signed_in(nurse):
    client, elsewhere = signed_in("nurse"), signed_in("nurse")
    response = change(client, PASSWORD)
    assert response.status_code == 302
    nurse.refresh_from_db()
    assert nurse.check_password(NEW_PASSWORD)
    # This session goes on; the other one (another workstation) is signed out.
    assert client.get(reverse("patient-list")).status_code == 200
    assert elsewhere.get(reverse("patient-list"))["Location"].startswith(reverse("login"))
    assert signed_in("nurse", NEW_PASSWORD)
    event = AuditEvent.objects.get(action="update", object_type="user", object_id=str(nurse.pk))
    assert event.actor_id == nurse.pk
    assert event.changes["password"] == "changed"
    # The audit trail never holds a password, old or new, nor its hash.
    trail = json.dumps(list(AuditEvent.objects.values("changes")))
    for secret in (PASSWORD, NEW_PASSWORD, nurse.password):
        assert secret not in trail


def test_a_wrong_current_password_is_refused_counted_and_audited(nurse):
    client = signed_in("nurse")
    response = change(client, "not my password")
    assert response.status_code == 200
    assert REFUSED in errors(response)
    nurse.refresh_from_db()
    assert nurse.check_password(PASSWORD)
    assert failures("nurse") == 1
    event = AuditEvent.objects.get(action="login_failed")
    assert event.changes == {
        "prompt": "password change",
        "username": "nurse",
        "reason": "credentials",
        "locked_out": False,
    }
    assert not AuditEvent.objects.filter(action="update", object_type="user").exists()


def test_five_wrong_current_passwords_lock_the_account(nurse):
    client = signed_in("nurse")
    messages = {errors(change(client, f"guess {n}")) for n in range(5)}
    assert failures("nurse") == 5
    # Locked: the right password is refused with the very same words, here and at sign-in.
    messages.add(errors(change(client, PASSWORD)))
    assert len(messages) == 1 and REFUSED in messages.pop()
    nurse.refresh_from_db()
    assert nurse.check_password(PASSWORD)
    response = Client().post(reverse("login"), {"username": "nurse", "password": PASSWORD})
    assert response.status_code == 429


def test_an_account_locked_at_sign_in_cannot_change_its_password(nurse):
    client = signed_in("nurse")
    for _ in range(5):
        Client().post(reverse("login"), {"username": "nurse", "password": "wrong-guess"})
    assert REFUSED in errors(change(client, PASSWORD))
    nurse.refresh_from_db()
    assert nurse.check_password(PASSWORD)


def test_a_refused_new_password_tries_nothing_and_says_nothing_of_the_current(nurse):
    client = signed_in("nurse")
    for new, again in (("short", "short"), (NEW_PASSWORD, NEW_PASSWORD + "x")):
        response = change(client, "maybe this", new, again)
        assert REFUSED not in errors(response)
    assert "differ" in errors(change(client, PASSWORD, NEW_PASSWORD, "something else"))
    assert "not your current one" in errors(change(client, PASSWORD, PASSWORD))
    assert failures("nurse") == 0
    nurse.refresh_from_db()
    assert nurse.check_password(PASSWORD)


# --- an account whose password someone else chose changes it first -------------------------


def test_an_account_an_admin_creates_must_change_its_password(as_user, clinic_admin):
    as_user(clinic_admin).post(
        reverse("staff-new"),
        {
            "username": "j.doe",
            "first_name": "Jane",
            "last_name": "Doe",
            "role": "nurse",
            "password": "admin chose this one 17",
        },
    )
    user = User.objects.get(username="j.doe")
    assert user.must_change_password
    event = AuditEvent.objects.get(action="create", object_type="user", object_id=str(user.pk))
    assert event.changes["must_change_password"] == {"old": None, "new": True}


def test_createstaff_makes_the_new_account_change_its_password(db):
    def create(username, *extra):
        call_command(
            "createstaff", username, "--clinic", "New Site", "--role", "nurse",
            "--password", "operator chose this 17", *extra,
        )  # fmt: skip
        return User.objects.get(username=username).must_change_password

    assert create("first.admin") is True
    # The operator creating their own account keeps their password.
    assert create("the.operator", "--own-password") is False


def test_the_demo_accounts_sign_in_straight_away(clinic):
    ensure_staff(clinic, "demo.nurse", "Daniel", "Reyes", "nurse")
    user = User.objects.get(username="demo.nurse")
    assert not user.must_change_password
    client = signed_in("demo.nurse", DEMO_PASSWORD)
    assert client.get(reverse("patient-list")).status_code == 200


def test_a_demo_login_can_be_made_at_a_clinic_of_any_name(db):
    """Its first password, a machine secret, passes the rules whatever the clinic is called
    (tests/accounts/test_machine_secret_hasher.py draws a thousand): random hex once read "7e57"
    as "test" and refused a "Crash Test Clinic" nurse."""
    clinic = create_clinic(SYSTEM, "Test Cafe Bead Face Deaf Clinic")
    ensure_staff(clinic, "face.nurse", "Fay", "Cafe", "nurse")
    assert User.objects.get(username="face.nurse").check_password(DEMO_PASSWORD)


@pytest.fixture
def newcomer(nurse):
    User.objects.filter(pk=nurse.pk).update(must_change_password=True)
    return nurse


def test_every_page_leads_to_the_change_page_until_the_password_is_changed(newcomer):
    client = signed_in("nurse")
    response = client.get(reverse("patient-list"))
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?next=%2Fpatients%2F"
    assert client.post(reverse("patient-new"), {})["Location"] == URL
    page = client.get(URL)
    assert page.status_code == 200
    assert "set by someone else" in page.content.decode()
    response = client.post(
        URL,
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
            "next": "/patients/",
        },
    )
    assert response["Location"] == "/patients/"
    newcomer.refresh_from_db()
    assert not newcomer.must_change_password
    assert client.get(reverse("patient-list")).status_code == 200
    assert client.get(reverse("chair-board")).status_code == 200


def test_htmx_and_scripts_get_an_answer_they_can_act_on_not_a_loop(newcomer):
    client = signed_in("nurse")
    response = client.get(reverse("chair-board"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == URL
    response = client.get(reverse("patient-list"), headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.json()["change_password"] == URL


def test_signing_out_still_works_before_the_change(newcomer):
    client = signed_in("nurse")
    response = client.post(reverse("logout"))
    assert response["Location"] == reverse("login")
    assert client.get(reverse("patient-list"))["Location"].startswith(reverse("login"))


def test_a_user_with_an_authenticator_gives_its_code_to_change_the_password(nurse):
    """The current password is a password prompt like a witness's: one sign-in check
    (accounts.reauth), so whoever signs in with a second factor gives it here too."""
    device = authenticator(nurse)
    client = reauth_signed_in(nurse, device)
    assert REFUSED in errors(change(client, PASSWORD))
    assert failures("nurse") == 1
    nurse.refresh_from_db()
    assert nurse.check_password(PASSWORD)
    response = client.post(
        URL,
        {
            "current_password": PASSWORD,
            "code": code_for(device),
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    nurse.refresh_from_db()
    assert nurse.check_password(NEW_PASSWORD)
