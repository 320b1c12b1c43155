"""The outcomes dashboard: the figures for staff with the patients behind them, and for the
researcher counts and statistics only — never a name, MRN, exact date or a cell under 11."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import make_patient
from tests.planning.conftest import signed_evaluation

DASHBOARD = reverse("registry-dashboard")


@pytest.fixture
def evaluated(prescriber, clinic):
    """Fifteen patients with signed evaluations and twelve registered only: every count of
    those two steps, and the difference between them, is above the small-cell threshold."""
    for i in range(12):
        make_patient(prescriber, clinic, family_name=f"Screened{i:02d}")
    patients = []
    for i in range(15):
        patient = make_patient(prescriber, clinic, family_name=f"Registry{i:02d}")
        signed_evaluation(prescriber, clinic, patient)
        patients.append(patient)
    return patients


def test_staff_see_the_flow_and_open_the_patients_behind_it(evaluated, prescriber, as_user):
    client = as_user(prescriber)
    html = client.get(DASHBOARD).content.decode()
    assert 'data-step="evaluated"' in html
    link = reverse("registry-patients", args=["evaluated"])
    assert link in html
    listing = client.get(link).content.decode()
    assert all(p.family_name in listing for p in evaluated)


def test_the_researcher_sees_no_identifier_and_no_small_cell(
    evaluated, researcher, as_user, patient
):
    html = as_user(researcher).get(DASHBOARD).content.decode()
    for p in [*evaluated, patient]:
        assert p.family_name not in html and p.mrn not in html
        assert p.date_of_birth.isoformat() not in html
    assert reverse("registry-patients", args=["evaluated"]) not in html
    # Fifteen evaluated is shown; the small counts after it (nobody started) are not.
    assert re.search(r'data-step="evaluated">\s*<td>[^<]+</td>\s*<td class="num">15<', html)
    started = re.search(r'data-step="started">\s*<td>[^<]+</td>\s*<td class="num">(.*?)</td>', html)
    assert started and "&lt;11" in started.group(1)


def test_the_researcher_cannot_open_the_patients_behind_a_figure(researcher, as_user):
    response = as_user(researcher).get(reverse("registry-patients", args=["evaluated"]))
    assert response.status_code == 403


def test_a_backwards_date_range_is_a_clear_message(prescriber, as_user):
    response = as_user(prescriber).get(DASHBOARD, {"start": "2026-12-01", "end": "2026-11-01"})
    assert response.status_code == 400
    assert "before its start" in response.content.decode()


def test_the_dashboard_query_count_does_not_grow_with_patients(prescriber, clinic, as_user):
    client = as_user(prescriber)
    client.get(DASHBOARD)
    for i in range(2):
        signed_evaluation(prescriber, clinic, make_patient(prescriber, clinic, family_name=f"A{i}"))
    with CaptureQueriesContext(connection) as few:
        client.get(DASHBOARD)
    for i in range(6):
        signed_evaluation(prescriber, clinic, make_patient(prescriber, clinic, family_name=f"B{i}"))
    with CaptureQueriesContext(connection) as many:
        client.get(DASHBOARD)
    assert len(many) == len(few)


def test_another_clinic_s_patients_are_not_counted(outsider_patient, prescriber, as_user):
    html = as_user(prescriber).get(DASHBOARD).content.decode()
    assert outsider_patient.family_name not in html
    assert re.search(r'data-step="screened">\s*<td>[^<]+</td>\s*<td class="num"><a[^>]*>0<', html)


def test_the_experimental_model_is_withheld_with_little_data_and_hidden_from_researchers(
    evaluated, prescriber, researcher, as_user
):
    staff = as_user(prescriber).get(DASHBOARD).content.decode()
    assert 'id="prediction"' in staff and "Withheld:" in staff and "Experimental" in staff
    research = as_user(researcher).get(DASHBOARD).content.decode()
    assert 'id="prediction"' not in research


def test_the_misuse_card_counts_questionnaire_screens_not_urine_drug_screens(prescriber, as_user):
    html = as_user(prescriber).get(DASHBOARD).content.decode()
    card = html[html.index('id="misuse"') :].split("</section>")[0]
    assert "AUDIT-C &gt;= 4 (women &gt;= 3)" in card and "DAST-10 &gt;= 3" in card
    assert "not urine drug screens" in card
    assert "such a questionnaire after the first dose" in card
    assert "not recorded" not in card
