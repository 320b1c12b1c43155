"""A clinic admin edits a staff member: name, email, mobile and role at this clinic."""

from django.urls import reverse

from ketacare.accounts.models import Clinic, Membership, User
from ketacare.audit.models import AuditEvent
from tests.accounts.conftest import membership

EDIT = {
    "first_name": "Nora",
    "last_name": "Quinn",
    "email": "nora@example.org",
    "mobile": "+1 217 555 0100",
    "role": "prescriber",
}


def edit_url(user):
    return reverse("staff-edit", args=[membership(user).pk])


def test_clinic_admin_edits_a_nurse_and_makes_her_a_prescriber(as_user, clinic_admin, nurse):
    client = as_user(clinic_admin)
    page = client.get(edit_url(nurse)).content.decode()
    assert 'value="Nurse"' in page  # the form starts from what is recorded
    response = client.post(edit_url(nurse), EDIT)
    assert response.status_code == 302
    nurse.refresh_from_db()
    assert (nurse.first_name, nurse.last_name, nurse.email, nurse.mobile) == (
        "Nora",
        "Quinn",
        "nora@example.org",
        "+1 217 555 0100",
    )
    assert membership(nurse).role == "prescriber"
    user_event = AuditEvent.objects.get(
        object_type="user", object_id=str(nurse.pk), action="update"
    )
    assert user_event.changes["first_name"] == {"old": "Nurse", "new": "Nora"}
    role_event = AuditEvent.objects.get(object_type="membership", action="update")
    assert role_event.changes == {"role": {"old": "nurse", "new": "prescriber"}}
    assert role_event.actor_username == "clinic_admin"


def test_bad_input_changes_nothing(as_user, clinic_admin, nurse):
    client = as_user(clinic_admin)
    events = AuditEvent.objects.count()
    for bad in ({"email": "not an email"}, {"mobile": "text me"}, {"role": "astronaut"}):
        response = client.post(edit_url(nurse), {**EDIT, **bad})
        assert response.status_code == 200
        assert response.context["form"].errors
    nurse.refresh_from_db()
    assert nurse.first_name == "Nurse"
    assert membership(nurse).role == "nurse"
    assert AuditEvent.objects.count() == events


def test_an_admin_cannot_change_their_own_role(as_user, clinic_admin):
    response = as_user(clinic_admin).post(edit_url(clinic_admin), {**EDIT, "role": "nurse"})
    assert "cannot change your own role" in response.content.decode()
    assert membership(clinic_admin).role == "clinic_admin"
    # Their own name they may change.
    as_user(clinic_admin).post(edit_url(clinic_admin), {**EDIT, "role": "clinic_admin"})
    assert User.objects.get(pk=clinic_admin.pk).first_name == "Nora"


def test_a_prescriber_who_is_no_longer_one_is_no_longer_on_call(
    as_user, clinic_admin, prescriber, clinic
):
    Clinic.objects.filter(pk=clinic.pk).update(on_call_prescriber=prescriber)
    as_user(clinic_admin).post(edit_url(prescriber), {**EDIT, "role": "nurse"})
    assert Clinic.objects.get(pk=clinic.pk).on_call_prescriber is None
    assert AuditEvent.objects.filter(object_type="clinic", action="update").exists()


def test_only_clinic_admins_edit_staff(as_user, prescriber, nurse):
    response = as_user(prescriber).post(edit_url(nurse), EDIT)
    assert response.status_code == 403
    assert Membership.objects.get(user=nurse).role == "nurse"


def test_another_clinics_admin_cannot_find_our_staff(as_user, other_admin, nurse):
    client = as_user(other_admin)
    assert client.get(edit_url(nurse)).status_code == 404
    assert client.post(edit_url(nurse), EDIT).status_code == 404
    nurse.refresh_from_db()
    assert nurse.first_name == "Nurse"


def test_the_staff_list_links_to_each_member(as_user, clinic_admin, nurse):
    listing = as_user(clinic_admin).get(reverse("staff-list")).content.decode()
    assert edit_url(nurse) in listing
