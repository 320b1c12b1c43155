"""The evaluation form holds every field of the eligibility layout and stores exactly what
was answered: an unanswered question stays unanswered, never a silent "no"."""

from django.urls import reverse

from ketacare.planning.models import Evaluation
from tests.planning.conftest import CLEAR_ANSWERS


def form_data(answers):
    data = {}
    for path, value in answers.items():
        name = path.replace(".", "__")
        if path == "screening.auditc_positive":
            data[name] = "not_done" if value is None else ("positive" if value else "negative")
        elif isinstance(value, bool):
            data[name] = "yes" if value else "no"
        elif isinstance(value, list):
            data[name] = ", ".join(value)
        else:
            data[name] = "not_done" if value is None else str(value)
    return data


def test_the_form_stores_the_answers_it_was_given(patient, nurse, as_user):
    client = as_user(nurse)
    response = client.post(
        reverse("evaluation-new", args=[patient.pk]), {**form_data(CLEAR_ANSWERS), "notes": "x"}
    )
    evaluation = Evaluation.objects.get()
    assert response.status_code == 302
    assert evaluation.answers == CLEAR_ANSWERS
    assert evaluation.notes == "x"


def test_an_unanswered_question_is_not_stored_as_no(patient, nurse, as_user):
    data = form_data(CLEAR_ANSWERS)
    del data["medical__recent_mi_or_stroke"]
    data["screening__dast10_score"] = "not_done"
    as_user(nurse).post(reverse("evaluation-new", args=[patient.pk]), data)
    answers = Evaluation.objects.get().answers
    assert "medical.recent_mi_or_stroke" not in answers
    assert answers["screening.dast10_score"] is None  # recorded as not done


def test_saving_the_same_answers_changes_nothing(patient, nurse, as_user):
    client = as_user(nurse)
    client.post(reverse("evaluation-new", args=[patient.pk]), form_data(CLEAR_ANSWERS))
    evaluation = Evaluation.objects.get()
    response = client.post(
        reverse("evaluation-edit", args=[evaluation.pk]),
        {**form_data(CLEAR_ANSWERS), "version": evaluation.version},
        follow=True,
    )
    assert "Nothing changed." in response.content.decode()


def test_an_out_of_range_number_is_refused_by_the_form(patient, nurse, as_user):
    data = {**form_data(CLEAR_ANSWERS), "vitals__systolic": "1400"}
    response = as_user(nurse).post(reverse("evaluation-new", args=[patient.pk]), data)
    assert response.status_code == 200
    assert "less than or equal to 300" in response.content.decode()
    assert not Evaluation.objects.exists()


def test_audit_c_and_dast_10_come_from_the_measures(patient, nurse, clinic, as_user):
    from django.utils import timezone

    from ketacare.measures import actions as measure_actions
    from tests.conftest import actor

    measure_actions.record_staff_response(
        actor(nurse, clinic), patient, "auditc", [2, 1, 0], timezone.now()
    )
    html = as_user(nurse).get(reverse("evaluation-new", args=[patient.pk])).content.decode()
    # 3 points: positive for a woman (cut-point 3), so the form arrives with "positive" chosen.
    assert '<option value="positive" selected>' in html
