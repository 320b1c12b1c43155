import html as html_lib
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from ketacare.measures import actions
from ketacare.measures.summary import BASELINE_NOTE, patient_summary
from tests.conftest import actor

# PHQ-9 answer sets with item 9 at 0 (no alert), by total.
PHQ9_BY_TOTAL = {
    20: [3, 3, 3, 3, 2, 2, 2, 2, 0],
    12: [2, 2, 2, 2, 1, 1, 1, 1, 0],
    11: [2, 2, 2, 1, 1, 1, 1, 1, 0],
    9: [2, 1, 1, 1, 1, 1, 1, 1, 0],
}


def record_phq9_series(nurse, clinic, patient, totals):
    start = timezone.now() - timedelta(days=7 * len(totals))
    for week, total in enumerate(totals):
        answers = PHQ9_BY_TOTAL[total]
        assert sum(answers) == total
        actions.record_staff_response(
            actor(nurse, clinic), patient, "phq9", answers, start + timedelta(weeks=week)
        )


def page(client, patient):
    return html_lib.unescape(
        client.get(reverse("patient-measures", args=[patient.pk])).content.decode()
    )


def test_first_score_is_the_baseline_and_a_drop_to_9_from_20_is_a_response(
    as_user, nurse, clinic, patient
):
    record_phq9_series(nurse, clinic, patient, [20, 12, 9])
    [series] = patient_summary(patient).series
    assert series.assessment.baseline.total == 20
    assert series.assessment.latest.total == 9
    assert series.assessment.get("response").met
    assert not series.assessment.get("remission").met
    html = page(as_user(nurse), patient)
    assert BASELINE_NOTE in html
    assert "baseline 20 · change -55.0 %" in html
    assert "Response</strong>: yes" in html
    assert "PHQ-9 at least 50 % below baseline 20 (latest 9)" in html
    assert "Remission</strong>: no" in html


def test_a_drop_to_11_from_20_is_not_yet_a_response(as_user, nurse, clinic, patient):
    record_phq9_series(nurse, clinic, patient, [20, 12, 11])
    html = page(as_user(nurse), patient)
    assert "Response</strong>: no" in html
    assert "PHQ-9 at least 50 % below baseline 20 (latest 11)" in html


def test_the_baseline_is_the_earliest_score_even_when_entered_last(as_user, nurse, clinic, patient):
    # A paper form from before treatment, typed in after the later scores.
    now = timezone.now()
    for days_ago, total in [(7, 12), (1, 9), (21, 20)]:
        actions.record_staff_response(
            actor(nurse, clinic),
            patient,
            "phq9",
            PHQ9_BY_TOTAL[total],
            now - timedelta(days=days_ago),
        )
    html = page(as_user(nurse), patient)
    assert "baseline 20" in html
    assert "Response</strong>: yes" in html


def test_a_single_score_has_no_classification_yet(as_user, nurse, clinic, patient):
    record_phq9_series(nurse, clinic, patient, [20])
    html = page(as_user(nurse), patient)
    assert "No score since baseline." in html
    assert "Response</strong>" not in html
