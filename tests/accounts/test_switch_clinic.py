from django.urls import reverse

from ketacare.accounts.models import Membership
from ketacare.audit.models import AuditEvent
from tests.conftest import make_patient


def test_staff_of_two_clinics_switches_between_them(
    as_user, nurse, other_clinic, outsider, patient, outsider_patient
):
    Membership.objects.create(user=nurse, clinic=other_clinic, role="prescriber")
    client = as_user(nurse)
    # First clinic by name ("Harbor…" sorts before "Riverside…") is active until one is chosen.
    first = client.get(reverse("patient-list"))
    assert [p.pk for p in first.context["page"]] == [outsider_patient.pk]
    assert first.context["role_label"] == "Prescriber"

    client.post(reverse("switch-clinic"), {"clinic": patient.clinic_id})
    switch = AuditEvent.objects.filter(action="update", object_type="user", actor=nurse).get()
    assert switch.changes["active_clinic"]["new"] == patient.clinic.name
    listing = client.get(reverse("patient-list"))
    assert [p.pk for p in listing.context["page"]] == [patient.pk]
    assert listing.context["role_label"] == "Nurse"
    # The other clinic's chart is now out of reach by id.
    assert client.get(reverse("patient-chart", args=[outsider_patient.pk])).status_code == 404


def test_cannot_switch_to_a_clinic_one_does_not_work_in(as_user, nurse, other_clinic, clinic):
    make_patient(nurse, clinic)
    client = as_user(nurse)
    response = client.post(reverse("switch-clinic"), {"clinic": other_clinic.pk}, follow=True)
    assert "not a member of that clinic" in response.content.decode()
    assert response.context["membership"].clinic == clinic
