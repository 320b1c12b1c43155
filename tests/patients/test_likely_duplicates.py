"""Registering someone the clinic may already have (same name and birth date, phone or email)
warns, lists them with links to their charts, and waits for "create anyway"; a POST without
that confirmation is refused the same way. Another clinic's patients are never shown."""

import pytest
from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.patients import actions
from ketacare.patients.models import Patient
from ketacare.patients.search import phone_key
from tests.conftest import NEW_PATIENT_FORM, actor, make_patient

ADA = {**NEW_PATIENT_FORM, "phone": "+1 555 010 0199", "email": "ada@example.org"}


@pytest.fixture
def ada(nurse, clinic):
    return make_patient(nurse, clinic, phone="+1 555 010 0199", email="ada@example.org")


def _new(client, **changes):
    return client.post(reverse("patient-new"), {**NEW_PATIENT_FORM, **changes})


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"given_name": "ADA", "family_name": "Lovélace"}, "same name and date of birth"),
        ({"given_name": "Lovelace", "family_name": "Ada"}, "same name and date of birth"),
        ({"given_name": "Augusta", "phone": "(555) 010-0199"}, "same phone number"),
        ({"given_name": "Augusta", "email": "ADA@example.org"}, "same email address"),
    ],
)
def test_a_likely_duplicate_is_shown_and_nothing_is_saved(changes, reason, ada, nurse, as_user):
    client = as_user(nurse)
    events = AuditEvent.objects.count()
    response = _new(client, **changes)
    assert response.status_code == 200
    [duplicate] = response.context["duplicates"]
    assert duplicate.patient == ada and reason in duplicate.reasons
    page = response.content.decode()
    assert f'href="{reverse("patient-chart", args=[ada.pk])}"' in page
    assert reason in page and ada.mrn in page
    assert 'name="create_anyway"' in page
    assert Patient.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_create_anyway_registers_and_audits_the_decision(ada, nurse, as_user):
    response = _new(as_user(nurse), create_anyway=f"{ada.pk} ")
    assert response.status_code == 302
    new = Patient.objects.exclude(pk=ada.pk).get()
    event = AuditEvent.objects.get(action="create", object_type="patient", object_id=str(new.pk))
    assert event.changes["confirmed_not_a_duplicate_of"] == [ada.mrn]


def test_confirming_one_duplicate_does_not_confirm_another(ada, nurse, clinic, as_user):
    # Ada's sister, registered once the nurse confirmed she is not Ada; she shares the email.
    other = actions.create_patient(
        actor(nurse, clinic), {**ADA, "given_name": "Augusta", "phone": ""}, [ada.pk]
    )
    response = _new(as_user(nurse), email="ada@example.org", create_anyway=str(ada.pk))
    assert response.status_code == 200
    assert {d.patient for d in response.context["duplicates"]} == {ada, other}
    assert Patient.objects.count() == 2


def test_the_action_refuses_without_confirmation(ada, nurse, clinic):
    data = {**ADA, "given_name": "Augusta"}
    with pytest.raises(actions.LikelyDuplicates, match=f"MRN {ada.mrn}"):
        actions.create_patient(actor(nurse, clinic), data)
    assert Patient.objects.count() == 1


def test_someone_else_is_registered_without_a_warning(ada, nurse, as_user):
    response = _new(as_user(nurse), date_of_birth="1985-12-11", phone="+1 555 010 0198")
    assert response.status_code == 302
    assert Patient.objects.count() == 2


def test_another_clinics_patients_are_never_shown(outsider, other_clinic, nurse, clinic, as_user):
    make_patient(outsider, other_clinic, phone="+1 555 010 0199")  # the same Ada, elsewhere
    response = _new(as_user(nurse), phone="+1 555 010 0199")
    assert response.status_code == 302
    assert Patient.objects.filter(clinic=clinic).count() == 1


def test_another_clinics_patients_are_not_listed_beside_ours(
    ada, outsider, other_clinic, nurse, as_user
):
    make_patient(outsider, other_clinic, given_name="Grace", phone="+1 555 010 0199")
    response = _new(as_user(nurse), phone="+1 555 010 0199")
    assert [d.patient for d in response.context["duplicates"]] == [ada]
    assert "Grace" not in response.content.decode()


@pytest.mark.parametrize(
    ("phone", "key"),
    [
        ("+1 555 010 0199", "5550100199"),
        ("(555) 010-0199", "5550100199"),
        ("555.010.0199", "5550100199"),
        ("0199", ""),  # too short to identify anyone
        ("", ""),
    ],
)
def test_phone_numbers_compare_on_their_digits(phone, key):
    assert phone_key(phone) == key
