"""A clinic admin unlocks an account that django-axes locked after failed sign-ins."""

from django.test import Client
from django.urls import reverse

from ketacare.audit.models import AuditEvent
from tests.accounts.conftest import membership
from tests.conftest import PASSWORD


def fail_sign_in(username, times):
    client = Client()
    for _ in range(times):
        client.post(reverse("login"), {"username": username, "password": "wrong-guess"})


def signs_in(username):
    response = Client().post(reverse("login"), {"username": username, "password": PASSWORD})
    return response.status_code == 302


def unlock_url(user):
    return reverse("staff-unlock", args=[membership(user).pk])


def test_a_locked_out_nurse_is_unlocked_by_the_clinic_admin(as_user, clinic_admin, nurse):
    fail_sign_in("nurse", 5)
    assert not signs_in("nurse")
    admin = as_user(clinic_admin)
    assert "Locked out" in admin.get(reverse("staff-list")).content.decode()
    response = admin.post(unlock_url(nurse), follow=True)
    assert "can sign in again" in response.content.decode()
    event = AuditEvent.objects.get(object_type="user", object_id=str(nurse.pk), action="update")
    # Five wrong passwords, and the right one refused while locked.
    assert event.changes == {"locked_out": {"old": True, "new": False}, "failed_attempts": 6}
    assert signs_in("nurse")


def test_a_lock_out_typed_in_capitals_is_found_and_lifted(as_user, clinic_admin, nurse):
    fail_sign_in("NURSE", 5)
    as_user(clinic_admin).post(unlock_url(nurse))
    assert signs_in("nurse")


def test_an_account_that_is_not_locked_is_left_alone(as_user, clinic_admin, nurse):
    fail_sign_in("nurse", 4)  # one short of the limit
    admin = as_user(clinic_admin)
    assert "Locked out" not in admin.get(reverse("staff-list")).content.decode()
    response = admin.post(unlock_url(nurse), follow=True)
    assert "is not locked out" in response.content.decode()
    assert not AuditEvent.objects.filter(object_type="user", action="update").exists()


def test_only_clinic_admins_unlock(as_user, prescriber, nurse):
    fail_sign_in("nurse", 5)
    assert as_user(prescriber).post(unlock_url(nurse)).status_code == 403
    assert not signs_in("nurse")


def test_another_clinics_admin_cannot_unlock_our_staff(as_user, other_admin, nurse):
    fail_sign_in("nurse", 5)
    assert as_user(other_admin).post(unlock_url(nurse)).status_code == 404
    assert not signs_in("nurse")
