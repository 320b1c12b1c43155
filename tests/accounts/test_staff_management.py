import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from ketacare.accounts.models import Clinic, Membership, User
from ketacare.audit.models import AuditEvent

NEW = {
    "username": "j.doe",
    "first_name": "Jane",
    "last_name": "Doe",
    "email": "jane@example.org",
    "role": "nurse",
    "password": "a long enough passphrase",
}


def test_clinic_admin_adds_a_nurse(as_user, clinic_admin, clinic):
    response = as_user(clinic_admin).post(reverse("staff-new"), NEW)
    assert response.status_code == 302
    membership = Membership.objects.get(user__username="j.doe")
    assert (membership.clinic, membership.role) == (clinic, "nurse")
    assert User.objects.get(username="j.doe").check_password(NEW["password"])
    assert AuditEvent.objects.filter(object_type="membership", action="create").exists()
    listing = as_user(clinic_admin).get(reverse("staff-list")).content.decode()
    assert "Jane Doe" in listing


def test_weak_password_and_duplicate_are_refused(as_user, clinic_admin):
    client = as_user(clinic_admin)
    response = client.post(reverse("staff-new"), {**NEW, "password": "short"})
    assert "too short" in " ".join(response.context["form"].errors["password"])
    response = client.post(reverse("staff-new"), {**NEW, "role": "astronaut"})
    assert "role" in response.context["form"].errors
    assert not User.objects.filter(username="j.doe").exists()
    client.post(reverse("staff-new"), NEW)
    response = client.post(reverse("staff-new"), NEW)
    assert "taken" in " ".join(response.context["form"].errors["username"])


def test_admin_cannot_pull_another_clinics_account_into_this_clinic(
    as_user, clinic_admin, outsider
):
    # Typing an existing username must not attach that (other clinic's) person to us.
    response = as_user(clinic_admin).post(
        reverse("staff-new"), {**NEW, "username": "outsider", "role": "prescriber"}
    )
    assert response.status_code == 200
    assert "taken" in " ".join(response.context["form"].errors["username"])
    assert list(outsider.memberships.values_list("clinic__name", flat=True)) == [
        "Harbor Mental Health"
    ]


def test_staff_list_shows_only_this_clinic(as_user, clinic_admin, outsider):
    listing = as_user(clinic_admin).get(reverse("staff-list")).content.decode()
    assert "outsider" not in listing


def test_createstaff_command(db, capsys):
    call_command(
        "createstaff",
        "dr.who",
        "--clinic",
        "New Site",
        "--role",
        "prescriber",
        "--password",
        "a long enough passphrase",
    )
    assert Membership.objects.get(user__username="dr.who").role == "prescriber"
    with pytest.raises(CommandError, match="taken"):
        call_command(
            "createstaff",
            "dr.who",
            "--clinic",
            "New Site",
            "--role",
            "nurse",
            "--password",
            "a long enough passphrase",
        )
    with pytest.raises(CommandError, match="too short"):
        call_command(
            "createstaff", "x.y", "--clinic", "Other Site", "--role", "nurse", "--password", "short"
        )
    assert not User.objects.filter(username="x.y").exists()
    assert not Clinic.objects.filter(name="Other Site").exists()


def test_a_staff_member_gets_a_mobile_for_urgent_texts(as_user, clinic_admin):
    client = as_user(clinic_admin)
    response = client.post(reverse("staff-new"), {**NEW, "mobile": "text me"})
    assert "Use digits" in response.content.decode()
    assert not User.objects.filter(username=NEW["username"]).exists()
    client.post(reverse("staff-new"), {**NEW, "mobile": "+1 217 555 0123"})
    assert User.objects.get(username=NEW["username"]).mobile == "+1 217 555 0123"
