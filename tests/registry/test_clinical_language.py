"""The registry pages speak clinically: instrument names, adverse events by their names,
sources as citations, and the small-cell mark and confidence level from cohort.toml."""

import dataclasses
import re

import pytest
from django.urls import reverse

from ketacare.clinical.outcomes.cohort import config
from ketacare.registry.export import safe_harbor
from ketacare.registry.views import _event_label
from tests.registry.test_dashboard import DASHBOARD, evaluated  # noqa: F401


def visible_text(html: str) -> str:
    html = re.sub(r"(?s)<(script|style|head)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"(?s)<[^>]+>", " ", html))


def test_instruments_by_name_and_sources_linked(prescriber, as_user):
    html = as_user(prescriber).get(DASHBOARD).content.decode()
    text = visible_text(html)
    assert "PHQ-9" in text
    assert not re.search(r"\bPHQ9\b|\bphq9\b", text)
    assert f'<a class="citation" href="{reverse("clinical-reference")}#section-5">' in html


def test_routes_are_offered_by_name(prescriber, as_user):
    html = as_user(prescriber).get(DASHBOARD).content.decode()
    assert ">IV racemic ketamine</option>" in html
    assert "iv ketamine" not in html


@pytest.mark.parametrize(
    ("kind", "label"),
    [("emergence", "Anxiety / emergence reaction"), ("nausea", "Nausea"), ("all", "All")],
)
def test_adverse_events_by_their_names(kind, label):
    assert _event_label(kind) == label


def test_the_small_cell_mark_comes_from_cohort_toml(evaluated, researcher, as_user):  # noqa: F811
    minimum = config.settings().small_cell_minimum
    html = as_user(researcher).get(DASHBOARD).content.decode()
    started = re.search(r'data-step="started">\s*<td>[^<]+</td>\s*<td class="num">(.*?)</td>', html)
    assert started and f"&lt;{minimum}<" in started.group(1)
    assert f"shown as &lt;{minimum}." in html


def test_another_threshold_and_level_change_the_page(evaluated, researcher, as_user, monkeypatch):  # noqa: F811
    # A clinic that suppresses below 20 and reports 90 % intervals: the page follows the file.
    changed = dataclasses.replace(config.settings(), small_cell_minimum=20, confidence_level=0.9)
    monkeypatch.setattr(config, "settings", lambda: changed)
    html = as_user(researcher).get(DASHBOARD).content.decode()
    assert "shown as &lt;20." in html
    # Fifteen evaluated is now a small cell too.
    evaluated_cell = re.search(
        r'data-step="evaluated">\s*<td>[^<]+</td>\s*<td class="num">(.*?)</td>', html
    )
    assert evaluated_cell and "&lt;20" in evaluated_cell.group(1)
    assert "&lt;11" not in html


def test_the_confidence_level_comes_from_cohort_toml(prescriber, as_user, monkeypatch):
    changed = dataclasses.replace(config.settings(), confidence_level=0.9)
    monkeypatch.setattr(config, "settings", lambda: changed)
    report = as_user(prescriber).get(DASHBOARD).context["report"]
    assert report.confidence == "90 %"


def test_the_patients_behind_a_step_are_titled_in_words(prescriber, as_user):
    html = as_user(prescriber).get(reverse("registry-patients", args=["completed_induction"]))
    assert "Patients behind “Completed induction”" in html.content.decode()


def test_export_formats_are_checkboxes_beside_their_labels(prescriber, as_user):
    html = as_user(prescriber).get(reverse("registry-export")).content.decode()
    assert 'class="card export-form"' in html
    labels = re.findall(r'<label for="id_formats_\d">\s*<input type="checkbox"', html)
    assert len(labels) == 3


def test_the_export_page_states_the_export_s_own_safe_harbor_numbers(
    prescriber, as_user, monkeypatch
):
    html = as_user(prescriber).get(reverse("registry-export")).content.decode()
    assert 'ages of 90 or more shown as "90+"' in html and "(up to 365 either way)" in html
    # The page follows the numbers the export applies, not a copy of them.
    monkeypatch.setattr(safe_harbor, "OLDEST_AGE", 84)
    monkeypatch.setattr(safe_harbor, "MAX_SHIFT_DAYS", 200)
    html = as_user(prescriber).get(reverse("registry-export")).content.decode()
    assert 'ages of 85 or more shown as "85+"' in html and "(up to 200 either way)" in html
