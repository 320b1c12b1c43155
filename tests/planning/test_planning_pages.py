"""Planning pages: bounded queries however many records, and each view audited."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.patients.models import Patient
from ketacare.planning import actions
from tests.conftest import PASSWORD, make_patient
from tests.planning.conftest import as_prescriber, give_consent, iv_request, signed_evaluation


def _plans(prescriber, clinic, count):
    for _ in range(count):
        number = Patient.objects.count()
        patient = make_patient(prescriber, clinic, family_name=f"Patient{number}")
        evaluation = signed_evaluation(prescriber, clinic, patient)
        give_consent(prescriber, clinic, patient)
        draft = actions.draft_plan(as_prescriber(prescriber, clinic), evaluation.pk, iv_request())
        actions.sign_plan(as_prescriber(prescriber, clinic), draft.pk, PASSWORD)


def _queries(client, url):
    client.get(url)  # the first request of a session also refreshes the session's marks
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_worklist_query_count_does_not_grow_with_plans(prescriber, clinic, as_user):
    client = as_user(prescriber)
    _plans(prescriber, clinic, 1)
    few = _queries(client, reverse("planning-worklist"))
    _plans(prescriber, clinic, 4)
    assert _queries(client, reverse("planning-worklist")) == few


def test_the_evaluation_page_query_count_does_not_grow_with_addenda(
    evaluation, prescriber, clinic, as_user
):
    from tests.planning.conftest import CLEAR_ANSWERS

    client = as_user(prescriber)
    url = reverse("evaluation-detail", args=[evaluation.pk])
    who = as_prescriber(prescriber, clinic)
    actions.add_addendum(who, evaluation.pk, "one", dict(CLEAR_ANSWERS))
    few = _queries(client, url)
    for note in ("two", "three", "four"):
        actions.add_addendum(who, evaluation.pk, note, dict(CLEAR_ANSWERS))
    assert _queries(client, url) == few


def test_opening_a_plan_or_evaluation_is_audited(plan, nurse, as_user):
    client = as_user(nurse)
    client.get(reverse("plan-detail", args=[plan.pk]))
    client.get(reverse("evaluation-detail", args=[plan.evaluation_id]))
    viewed = set(
        AuditEvent.objects.filter(action="view", actor=nurse).values_list("object_type", flat=True)
    )
    assert {"treatmentplan", "evaluation"} <= viewed


def test_the_chart_links_to_planning(patient, nurse, as_user):
    html = as_user(nurse).get(reverse("patient-chart", args=[patient.pk])).content.decode()
    assert reverse("patient-planning", args=[patient.pk]) in html
