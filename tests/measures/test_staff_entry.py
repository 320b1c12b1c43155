from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.clinical.instruments import get, score
from ketacare.measures.models import QuestionnaireResponse
from tests.conftest import make_patient
from tests.measures.helpers import MADRS_30, PHQ9_ITEM9, staff_form_data


def enter_url(patient, instrument_id):
    return reverse("measure-enter", kwargs={"pk": patient.pk, "instrument_id": instrument_id})


def test_nurse_enters_madrs_and_it_is_saved_as_scored(as_user, nurse, patient):
    response = as_user(nurse).post(enter_url(patient, "madrs"), staff_form_data(MADRS_30))
    assert response.status_code == 302
    assert response["Location"] == reverse("patient-measures", args=[patient.pk])
    saved = QuestionnaireResponse.objects.get()
    assert saved.patient == patient
    assert saved.instrument_id == "madrs"
    assert saved.answers == MADRS_30
    assert (saved.total, saved.severity, saved.flags) == (30, "moderate", [])
    expected = score(get("madrs"), MADRS_30)
    assert (saved.total, saved.severity) == (expected.total, expected.severity)
    assert saved.source == QuestionnaireResponse.Source.STAFF
    assert saved.entered_by == nurse
    assert saved.link is None


def test_phq9_entry_keeps_total_severity_and_item9_flag(as_user, nurse, patient):
    as_user(nurse).post(enter_url(patient, "phq9"), staff_form_data(PHQ9_ITEM9))
    saved = QuestionnaireResponse.objects.get()
    assert (saved.total, saved.severity) == (17, "moderately_severe")
    assert saved.flags == ["suicidal_ideation"]


def test_completed_at_is_the_time_the_nurse_gives(as_user, nurse, patient):
    when = timezone.localtime().replace(second=0, microsecond=0) - timedelta(days=3)
    as_user(nurse).post(enter_url(patient, "madrs"), staff_form_data(MADRS_30, completed_at=when))
    assert QuestionnaireResponse.objects.get().completed_at == when


def test_staff_entry_is_audited_against_the_patient(as_user, nurse, patient, clinic):
    as_user(nurse).post(enter_url(patient, "madrs"), staff_form_data(MADRS_30))
    saved = QuestionnaireResponse.objects.get()
    event = AuditEvent.objects.get(action="create", object_type="questionnaire_response")
    assert event.object_id == str(saved.pk)
    assert event.patient == patient
    assert event.clinic == clinic
    assert event.actor == nurse
    assert event.role == "nurse"
    assert event.changes["total"] == {"old": None, "new": 30}
    assert event.changes["instrument"] == {"old": None, "new": "madrs"}


def _without(data, key):
    return {k: v for k, v in data.items() if k != key}


@pytest.mark.parametrize(
    ("instrument_id", "data", "field", "message"),
    [
        ("phq9", _without(staff_form_data(PHQ9_ITEM9), "item_3"), "item_3", "choose an answer"),
        ("phq9", {**staff_form_data(PHQ9_ITEM9), "item_1": "4"}, "item_1", "valid choice"),
        ("phq9", {**staff_form_data(PHQ9_ITEM9), "item_9": "-1"}, "item_9", "valid choice"),
        ("madrs", {**staff_form_data(MADRS_30), "item_10": "7"}, "item_10", "valid choice"),
        ("madrs", {**staff_form_data(MADRS_30), "item_2": "two"}, "item_2", "valid choice"),
        (
            "madrs",
            staff_form_data(MADRS_30, completed_at=timezone.localtime() + timedelta(days=1)),
            "completed_at",
            "in the future",
        ),
        ("madrs", _without(staff_form_data(MADRS_30), "completed_at"), "completed_at", "required"),
    ],
)
def test_bad_entry_gets_a_field_error_and_saves_nothing(
    as_user, nurse, patient, instrument_id, data, field, message
):
    client = as_user(nurse)
    events_before = AuditEvent.objects.count()
    response = client.post(enter_url(patient, instrument_id), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert QuestionnaireResponse.objects.count() == 0
    assert AuditEvent.objects.count() == events_before


def test_inconsistent_cssrs_answers_are_refused_with_a_message(as_user, nurse, patient):
    # Q6 "within the past 3 months" cannot be yes when Q6 "ever" is no.
    data = staff_form_data([0, 0, 0, 0, 0, 0, 1])
    response = as_user(nurse).post(enter_url(patient, "cssrs_screen"), data)
    assert response.status_code == 200
    assert "cannot be yes when item 6 is no" in " ".join(
        response.context["form"].non_field_errors()
    )
    assert QuestionnaireResponse.objects.count() == 0


@pytest.mark.parametrize("instrument_id", ["phq10", "nothing", "PHQ9"])
def test_unknown_instrument_is_not_found(as_user, nurse, patient, instrument_id):
    assert as_user(nurse).get(enter_url(patient, instrument_id)).status_code == 404
    assert as_user(nurse).post(enter_url(patient, instrument_id), {}).status_code == 404


@pytest.mark.parametrize("sex_at_birth", ["intersex", "unknown"])
def test_auditc_asks_for_sex_when_the_chart_does_not_say(as_user, nurse, clinic, sex_at_birth):
    patient = make_patient(nurse, clinic, sex_at_birth=sex_at_birth)
    form = as_user(nurse).get(enter_url(patient, "auditc")).context["form"]
    assert "sex" in form.fields


@pytest.mark.parametrize(("sex", "flags"), [("female", ["positive_screen"]), ("male", [])])
def test_auditc_scores_with_the_sex_given_on_the_form(as_user, nurse, clinic, sex, flags):
    # A total of 3 screens positive for women (>= 3) but not for men (>= 4).
    patient = make_patient(nurse, clinic, sex_at_birth="intersex")
    as_user(nurse).post(enter_url(patient, "auditc"), staff_form_data([1, 1, 1], sex=sex))
    saved = QuestionnaireResponse.objects.get()
    assert saved.total == 3
    assert saved.flags == flags


def test_auditc_without_sex_is_refused_when_it_was_asked(as_user, nurse, clinic):
    patient = make_patient(nurse, clinic, sex_at_birth="unknown")
    response = as_user(nurse).post(enter_url(patient, "auditc"), staff_form_data([1, 1, 1]))
    assert response.status_code == 200
    assert "sex" in response.context["form"].errors
    assert QuestionnaireResponse.objects.count() == 0


@pytest.mark.parametrize(("sex_at_birth", "flags"), [("female", ["positive_screen"]), ("male", [])])
def test_auditc_uses_the_charted_sex_without_asking(as_user, nurse, clinic, sex_at_birth, flags):
    patient = make_patient(nurse, clinic, sex_at_birth=sex_at_birth)
    client = as_user(nurse)
    assert "sex" not in client.get(enter_url(patient, "auditc")).context["form"].fields
    # A "sex" posted anyway is ignored: the chart decides.
    other = "male" if sex_at_birth == "female" else "female"
    client.post(enter_url(patient, "auditc"), staff_form_data([1, 1, 1], sex=other))
    assert QuestionnaireResponse.objects.get().flags == flags


def test_prescriber_may_enter_scores(as_user, prescriber, patient):
    response = as_user(prescriber).post(enter_url(patient, "madrs"), staff_form_data(MADRS_30))
    assert response.status_code == 302
    assert QuestionnaireResponse.objects.get().entered_by == prescriber


@pytest.mark.parametrize("role", ["coordinator", "clinic_admin", "researcher"])
def test_other_roles_may_not_enter_scores(as_user, staff, patient, role):
    client = as_user(staff[role])
    assert client.get(enter_url(patient, "madrs")).status_code == 403
    assert client.post(enter_url(patient, "madrs"), staff_form_data(MADRS_30)).status_code == 403
    assert QuestionnaireResponse.objects.count() == 0


def test_another_clinics_nurse_cannot_find_the_patient(as_user, outsider, patient):
    response = as_user(outsider).post(enter_url(patient, "madrs"), staff_form_data(MADRS_30))
    assert response.status_code == 404
    assert QuestionnaireResponse.objects.count() == 0
