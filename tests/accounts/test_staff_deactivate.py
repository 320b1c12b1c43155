"""A clinic admin deactivates a membership (work here ends at the next click) and
reactivates it; never their own, never another clinic's."""

from django.urls import reverse

from ketacare.accounts.models import Clinic
from ketacare.audit.models import AuditEvent
from tests.accounts.conftest import membership
from tests.conftest import client_for


def url(name, user):
    return reverse(name, args=[membership(user).pk])


def test_a_deactivated_nurse_cannot_work_here_until_reactivated(as_user, clinic_admin, nurse):
    nurse_client = client_for(nurse)
    assert nurse_client.get(reverse("patient-list")).status_code == 200
    admin = as_user(clinic_admin)
    response = admin.post(url("staff-deactivate", nurse), follow=True)
    assert "can no longer sign in" in response.content.decode()
    assert membership(nurse).active is False
    assert nurse_client.get(reverse("patient-list")).status_code == 403
    event = AuditEvent.objects.get(object_type="membership", action="update")
    assert event.changes == {"active": {"old": True, "new": False}}
    assert "Deactivated" in admin.get(reverse("staff-list")).content.decode()

    admin.post(url("staff-reactivate", nurse))
    assert membership(nurse).active is True
    assert nurse_client.get(reverse("patient-list")).status_code == 200
    assert AuditEvent.objects.filter(
        object_type="membership", action="update", changes__active__new=True
    ).exists()


def test_an_admin_cannot_deactivate_themself(as_user, clinic_admin):
    response = as_user(clinic_admin).post(url("staff-deactivate", clinic_admin), follow=True)
    assert "cannot deactivate your own account" in response.content.decode()
    assert membership(clinic_admin).active is True
    assert not AuditEvent.objects.filter(object_type="membership", action="update").exists()


def test_twice_is_refused_with_a_message(as_user, clinic_admin, nurse):
    admin = as_user(clinic_admin)
    response = admin.post(url("staff-reactivate", nurse), follow=True)
    assert "already active" in response.content.decode()
    assert not AuditEvent.objects.filter(object_type="membership", action="update").exists()


def test_a_get_changes_nothing(as_user, clinic_admin, nurse):
    response = as_user(clinic_admin).get(url("staff-deactivate", nurse))
    assert response.status_code == 302
    assert membership(nurse).active is True


def test_the_deactivated_on_call_prescriber_is_taken_off_call(
    as_user, clinic_admin, prescriber, clinic
):
    Clinic.objects.filter(pk=clinic.pk).update(on_call_prescriber=prescriber)
    as_user(clinic_admin).post(url("staff-deactivate", prescriber))
    assert Clinic.objects.get(pk=clinic.pk).on_call_prescriber is None


def test_only_clinic_admins(as_user, prescriber, nurse):
    assert as_user(prescriber).post(url("staff-deactivate", nurse)).status_code == 403
    assert membership(nurse).active is True


def test_another_clinics_admin_gets_not_found(as_user, other_admin, nurse):
    client = as_user(other_admin)
    assert client.post(url("staff-deactivate", nurse)).status_code == 404
    assert membership(nurse).active is True
    nurse.memberships.update(active=False)
    assert client.post(url("staff-reactivate", nurse)).status_code == 404
    assert membership(nurse).active is False
