import html as html_lib
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketacare.clinical.instruments import get, score
from ketacare.measures import actions
from ketacare.measures.models import QuestionnaireResponse
from tests.conftest import actor
from tests.measures.helpers import MADRS_30, make_link
from tests.measures.test_outcome_summary import doses

# Five summed instruments, answered with rising then falling scores.
INSTRUMENTS = ["phq9", "gad7", "pcl5", "madrs", "ybocs"]


def answers_for(instrument_id, step):
    instrument = get(instrument_id)
    return [
        item.options[(step + n) % len(item.options)].value
        for n, item in enumerate(instrument.items)
    ]


def add_responses(patient, user, per_instrument):
    """``per_instrument`` scored responses for each of INSTRUMENTS, a day apart."""
    start = timezone.now() - timedelta(days=per_instrument + 1)
    rows = []
    for instrument_id in INSTRUMENTS:
        instrument = get(instrument_id)
        for step in range(per_instrument):
            answers = answers_for(instrument_id, step)
            result = score(instrument, answers)
            rows.append(
                QuestionnaireResponse(
                    patient=patient,
                    instrument_id=instrument_id,
                    instrument_version=instrument.version,
                    answers=answers,
                    total=result.total,
                    severity=result.severity or "",
                    flags=list(result.flags),
                    subscales=result.subscales,
                    completed_at=start + timedelta(days=step),
                    source=QuestionnaireResponse.Source.STAFF,
                    entered_by=user,
                )
            )
    QuestionnaireResponse.objects.bulk_create(rows)


def measures_url(patient):
    return reverse("patient-measures", args=[patient.pk])


def test_page_shows_latest_score_chart_and_table_per_instrument(as_user, nurse, clinic, patient):
    now = timezone.now()
    for days_ago, answers in [(14, [3] * 10), (7, [2] * 10), (1, MADRS_30)]:
        actions.record_staff_response(
            actor(nurse, clinic), patient, "madrs", answers, now - timedelta(days=days_ago)
        )
    response = as_user(nurse).get(measures_url(patient))
    html = response.content.decode()
    assert response.status_code == 200
    [series] = response.context["summary"].series
    assert series.instrument.id == "madrs"
    assert series.latest.total == 30
    assert "Latest: <strong>30 Moderate</strong>" in html
    assert 'id="measure-madrs"' in html
    assert html.count('<svg class="trajectory"') == 1
    assert html.count('<circle class="point"') == 3
    assert "Table (3 responses)" in html
    assert html.count("<td>Entered by staff</td>") == 3


def test_chart_is_drawn_on_the_server_with_no_external_resources(as_user, nurse, patient):
    add_responses(patient, nurse, 4)
    html = as_user(nurse).get(measures_url(patient)).content.decode()
    assert html.count('<svg class="trajectory"') == len(INSTRUMENTS)
    assert "<script>" not in html.split('<svg class="trajectory"', 1)[1]
    for external in ('src="http', 'src="//', 'href="http', 'href="//', "url(http"):
        assert external not in html


def test_page_without_responses_says_so(as_user, nurse, patient):
    html = as_user(nurse).get(measures_url(patient)).content.decode()
    assert "No questionnaires answered yet." in html
    assert "<svg" not in html


def test_classifications_show_with_their_rule(as_user, prescriber, nurse, clinic, patient):
    now = timezone.now()
    doses(prescriber, clinic, patient, now - timedelta(days=10))
    # MADRS 50 -> 12: a response (at least 50 % lower) but no remission (<= 10).
    for days_ago, answers in [(14, [5] * 10), (1, [1] * 8 + [2, 2])]:
        actions.record_staff_response(
            actor(nurse, clinic), patient, "madrs", answers, now - timedelta(days=days_ago)
        )
    html = html_lib.unescape(as_user(nurse).get(measures_url(patient)).content.decode())
    assert '<li class="met"><strong>Response</strong>: yes' in html
    assert "MADRS at least 50 % below baseline 50 (latest 12)" in html
    assert "Remission</strong>: no" in html
    assert "MADRS total ≤ 10 (latest 12)" in html
    baseline_day = timezone.localtime(now - timedelta(days=14)).date().isoformat()
    assert f"baseline 50 on {baseline_day} · change -76.0 %" in html


def test_classification_names_are_readable(as_user, prescriber, nurse, clinic, patient):
    now = timezone.now()
    doses(prescriber, clinic, patient, now - timedelta(days=10))
    for days_ago, answers in [(14, [3] * 8 + [0]), (1, [1] * 8 + [0])]:
        actions.record_staff_response(
            actor(nurse, clinic), patient, "phq9", answers, now - timedelta(days=days_ago)
        )
    html = as_user(nurse).get(measures_url(patient)).content.decode()
    assert "Reliable improvement</strong>" in html
    assert "Reliableimprovement" not in html


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_responses_or_doses(
    as_user, prescriber, nurse, clinic, patient, django_assert_max_num_queries
):
    from tests.conftest import make_patient

    busy = make_patient(nurse, clinic, given_name="Busy", family_name="Patient")
    add_responses(patient, nurse, 1)  # 5 responses
    add_responses(busy, nurse, 60)  # 300 responses
    start = timezone.now() - timedelta(days=40)
    doses(prescriber, clinic, busy, *(start + timedelta(days=3 * n) for n in range(6)))
    assert QuestionnaireResponse.objects.filter(patient=busy).count() == 300
    client = as_user(nurse)
    client.get(measures_url(patient))  # the session's first request may touch it once
    few = count_queries(client, measures_url(patient))
    many = count_queries(client, measures_url(busy))
    assert many == few
    # 18 today: session, user, OTP devices, membership, patient, responses, dose times,
    # alerts, links, contact consent, assignments, the nav's alert count (one query for
    # questionnaire and session alerts and stopped gates), the clinic switcher, and the audit
    # event of the view (savepoint, chain head, insert, head update, release). None per
    # response or per dose.
    with django_assert_max_num_queries(18):
        response = client.get(measures_url(busy))
    assert len(response.context["summary"].series) == 5
    assert all(len(s.responses) == 60 for s in response.context["summary"].series)
    assert len(response.context["summary"].doses) == 6


def test_open_links_are_listed(as_user, nurse, coordinator, patient):
    make_link(coordinator, patient, "gad7")
    html = as_user(nurse).get(measures_url(patient)).content.decode()
    assert "Open links: GAD-7 (shown in clinic (no message sent)" in html


@pytest.mark.parametrize(
    ("role", "can_send", "can_enter"),
    [
        ("prescriber", True, True),
        ("nurse", True, True),
        ("coordinator", True, False),
    ],
)
def test_staff_see_the_actions_their_role_allows(
    as_user, staff, patient, role, can_send, can_enter
):
    response = as_user(staff[role]).get(measures_url(patient))
    html = response.content.decode()
    assert response.status_code == 200
    assert (reverse("measure-send-link", args=[patient.pk]) in html) is can_send
    enter = reverse("measure-enter", kwargs={"pk": patient.pk, "instrument_id": "madrs"})
    assert (enter in html) is can_enter


@pytest.mark.parametrize("role", ["clinic_admin", "researcher"])
def test_admin_and_researcher_may_not_see_measures(as_user, staff, patient, role):
    add_responses(patient, staff["nurse"], 1)
    response = as_user(staff[role]).get(measures_url(patient))
    assert response.status_code == 403
    assert "PHQ-9" not in response.content.decode()


def test_another_clinic_cannot_find_the_patients_measures(as_user, outsider, patient):
    assert as_user(outsider).get(measures_url(patient)).status_code == 404


def test_viewing_the_measures_page_is_audited(as_user, nurse, patient):
    from ketacare.audit.models import AuditEvent

    as_user(nurse).get(measures_url(patient))
    event = AuditEvent.objects.get(action="view", object_type="measures")
    assert (event.patient, event.actor, event.role) == (patient, nurse, "nurse")


def test_chart_points_are_placed_by_time_not_by_index(as_user, nurse, clinic, patient):
    # Scores on day 0, 1 and 90: the gap from day 1 to day 90 is 89 times the first one.
    start = timezone.now() - timedelta(days=91)
    for day, answers in [(0, [5] * 10), (1, [4] * 10), (90, [1] * 10)]:
        actions.record_staff_response(
            actor(nurse, clinic), patient, "madrs", answers, start + timedelta(days=day)
        )
    response = as_user(nurse).get(measures_url(patient))
    [series] = response.context["summary"].series
    xs = [p.x for p in series.chart.points]
    assert (xs[2] - xs[1]) / (xs[1] - xs[0]) == pytest.approx(89)
    html = response.content.decode()
    drawn = [float(x) for x in re.findall(r'<circle class="point" cx="([\d.]+)"', html)]
    assert drawn == pytest.approx(xs, abs=0.051)
    # The axis is labelled with dates from the first score to the last.
    labels = re.findall(
        r'<text class="tick" x="[\d.]+" y="\d+" text-anchor="middle">([^<]+)<', html
    )
    assert labels[0] == timezone.localtime(start).date().isoformat()
    assert labels[-1] == timezone.localtime(start + timedelta(days=90)).date().isoformat()
    assert 1 < len(labels) <= 6


def test_doses_are_marked_on_the_chart_at_their_time(as_user, prescriber, nurse, clinic, patient):
    start = timezone.now() - timedelta(days=30)
    for day, answers in [(0, [5] * 10), (30, [1] * 10)]:
        actions.record_staff_response(
            actor(nurse, clinic), patient, "madrs", answers, start + timedelta(days=day)
        )
    doses(prescriber, clinic, patient, start + timedelta(days=1), start + timedelta(days=4))
    html = as_user(nurse).get(measures_url(patient)).content.decode()
    points = [float(x) for x in re.findall(r'<circle class="point" cx="([\d.]+)"', html)]
    marks = [float(x) for x in re.findall(r'<line class="dose" x1="([\d.]+)"', html)]
    assert len(marks) == 2
    width = points[1] - points[0]
    assert marks[0] - points[0] == pytest.approx(width / 30, abs=0.2)
    assert marks[1] - points[0] == pytest.approx(4 * width / 30, abs=0.2)
    # The baseline (the score before the first dose) is ringed.
    assert html.count('<circle class="baseline-ring"') == 1
    assert f'class="baseline-ring" cx="{points[0]:.1f}"' in html
