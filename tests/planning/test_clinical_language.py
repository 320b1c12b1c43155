"""Planning and patient pages speak clinical language: no rule ids, verdict codes or field paths
in the text staff read (they stay in the record and the audit trail), sources as citations
linked to the clinical reference, and a finding that applies to every route listed once."""

import re
from html.parser import HTMLParser

from django.urls import reverse
from django.utils.html import escape

from ketacare.planning import actions
from ketacare.planning.models import Evaluation
from tests.conftest import PASSWORD
from tests.planning.conftest import (
    as_prescriber,
    give_consent,
    iv_request,
    rationale,
    signed_evaluation,
)

# snake_case words (rule ids, verdicts, bands) and dotted field paths; a data file's name in a
# source ("session_thresholds.toml") is a file, not an identifier.
IDENTIFIER = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b(?!\.toml)|\b[a-z_]+\.[a-z_]+\b")
EVERY_ROUTE = {"vitals.systolic": 185, "vitals.diastolic": 112}  # the severe tier: all routes
ANEURYSM = {"medical.aneurysmal_vascular_disease": True}  # excludes one route, clears others


class _Text(HTMLParser):
    """The text a person reads in <main>: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.skip, self.parts = 0, 0, []

    def handle_starttag(self, tag, attrs):
        self.depth += tag == "main"
        self.skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self.depth -= tag == "main"
        self.skip -= tag in ("script", "style")

    def handle_data(self, data):
        if self.depth and not self.skip:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def identifiers(html: str) -> list[str]:
    text = visible(html)
    return [m.group(0) for m in IDENTIFIER.finditer(text) if not m.group(0).endswith(".toml")]


def test_a_finding_on_every_route_is_listed_once(prescriber, clinic, patient, as_user):
    evaluation = signed_evaluation(prescriber, clinic, patient, **EVERY_ROUTE, **ANEURYSM)
    html = as_user(prescriber).get(reverse("evaluation-detail", args=[evaluation.pk]))
    html = html.content.decode()
    severe = escape(rationale("severe_hypertension_at_evaluation"))
    assert html.count(severe) == 1
    shared = html[html.index('data-route="all"') :]
    assert severe in shared[: shared.index("</div>")]
    # A finding of one route stays under that route only.
    esketamine = html[html.index('data-route="intranasal_esketamine"') :]
    own = escape(rationale("esketamine_aneurysmal_vascular_disease"))
    assert html.count(own) == 1 and own in esketamine[: esketamine.index("</div>")]


def test_the_signing_page_lists_it_once_too(prescriber, clinic, patient, as_user):
    from tests.planning.conftest import CLEAR_ANSWERS

    who = as_prescriber(prescriber, clinic)
    draft = actions.start_evaluation(who, patient, {**CLEAR_ANSWERS, **EVERY_ROUTE}, "")
    actions.complete_evaluation(who, draft.pk)
    html = as_user(prescriber).get(reverse("evaluation-sign", args=[draft.pk])).content.decode()
    assert html.count(escape(rationale("severe_hypertension_at_evaluation"))) == 1
    assert identifiers(html) == []


def test_planning_pages_show_no_identifiers(prescriber, clinic, patient, as_user):
    evaluation = signed_evaluation(prescriber, clinic, patient, **EVERY_ROUTE, **ANEURYSM)
    who = as_prescriber(prescriber, clinic)
    actions.override_eligibility(who, evaluation.pk, "iv_ketamine", "Cleared.", PASSWORD)
    actions.add_addendum(
        who,
        evaluation.pk,
        "Benzodiazepine disclosed.",
        {**actions.effective_answers(evaluation), "medications.benzodiazepines": True},
    )
    give_consent(prescriber, clinic, patient)
    plan = actions.sign_plan(who, actions.draft_plan(who, evaluation.pk, iv_request()).pk, PASSWORD)
    client = as_user(prescriber)
    pages = [
        reverse("evaluation-detail", args=[evaluation.pk]),
        reverse("plan-detail", args=[plan.pk]),
        reverse("plan-new", args=[evaluation.pk]) + "?protocol=iv_ketamine",
        reverse("override-new", args=[evaluation.pk]) + "?route=intranasal_esketamine",
        reverse("patient-planning", args=[patient.pk]),
        reverse("planning-worklist"),
        reverse("rule-list"),
        reverse("rule-edit", args=["ketamine_baseline_blood_pressure_raised"]),
        reverse("patient-chart", args=[patient.pk]),
        reverse("patient-list"),
        reverse("patient-new"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert identifiers(response.content.decode()) == [], url


def test_sources_link_to_the_clinical_reference(prescriber, clinic, patient, as_user):
    evaluation = signed_evaluation(prescriber, clinic, patient, **ANEURYSM)
    html = as_user(prescriber).get(reverse("evaluation-detail", args=[evaluation.pk]))
    html = html.content.decode()
    assert f'<a class="citation" href="{reverse("clinical-reference")}#section-' in html
    assert "clinical-reference §" not in visible(html)


def test_a_missing_weight_links_to_the_measurement_form(prescriber, clinic, as_user):
    from tests.conftest import make_patient
    from tests.planning.conftest import CLEAR_ANSWERS

    unweighed = make_patient(prescriber, clinic, weight_kg=None, height_cm=None)
    evaluation = actions.start_evaluation(
        as_prescriber(prescriber, clinic), unweighed, CLEAR_ANSWERS, ""
    )
    client = as_user(prescriber)
    html = client.get(reverse("evaluation-detail", args=[evaluation.pk])).content.decode()
    assert f'href="{reverse("measurement-new", args=[unweighed.pk])}"' in html
    response = client.post(reverse("evaluation-complete", args=[evaluation.pk]))
    assert Evaluation.objects.get().state == Evaluation.State.IN_PROGRESS
    assert response.status_code == 302


def test_the_check_finds_what_it_looks_for():
    html = "<main><p title='x_y'>needs_clearance after vitals.systolic; rules.toml</p></main>"
    assert identifiers(html) == ["needs_clearance", "vitals.systolic"]
