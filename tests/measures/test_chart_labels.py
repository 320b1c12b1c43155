"""Chart labels do not overlap, and a relapse is drawn as a warning with words."""

from datetime import timedelta
from itertools import combinations

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from ketacare.clinical.instruments import get
from ketacare.clinical.outcomes import Measure, assess
from ketacare.clinical.outcomes.trajectory import baseline_rule
from ketacare.measures.charts import LINE_HEIGHT, WIDTH, text_width, trajectory_chart

START = timezone.make_aware(timezone.datetime(2026, 9, 1, 10, 0))


def chart_for(totals, days, dose_days=(0,)):
    phq9 = get("phq9")
    times = [START + timedelta(days=d) for d in days]
    doses = [START + timedelta(days=d, minutes=30) for d in dose_days]
    measures = [Measure(t, total) for t, total in zip(times, totals, strict=True)]
    assessment = assess(phq9, measures, first_treatment=doses[0], rule=baseline_rule())
    points = [(t, total, t.isoformat()) for t, total in zip(times, totals, strict=True)]
    return trajectory_chart(phq9, points, assessment, doses), assessment


@pytest.mark.parametrize("span_days", [1, 6, 13, 40, 95, 400])
def test_date_labels_are_at_least_their_width_apart(span_days):
    chart, _ = chart_for([20, 12], [0, span_days])
    xs = [(x, label) for x, label in chart.x_labels]
    assert xs
    for (x1, a), (x2, b) in combinations(xs, 2):
        assert abs(x2 - x1) >= (text_width(a) + text_width(b)) / 2
    for x, label in xs:  # centred on x, and inside the drawing
        assert x - text_width(label) / 2 >= 0
        assert x + text_width(label) / 2 <= WIDTH


@pytest.mark.parametrize("baseline", [8, 10, 12, 20, 27])
def test_threshold_labels_are_a_line_of_text_apart(baseline):
    # Baseline 10: the response line (5) sits half a point from the remission line (4.5).
    chart, _ = chart_for([baseline, baseline - 1], [0, 7])
    assert {line.label for line in chart.lines} == {
        "Response (50 % below baseline)",
        "Remission",
    }
    for a, b in combinations(chart.lines, 2):
        assert abs(a.label_y - b.label_y) >= LINE_HEIGHT
    for line in chart.lines:
        assert line.label_y - LINE_HEIGHT >= 0


def test_a_relapse_is_shaded_from_its_first_day_with_its_name():
    # Baseline 20, response on day 7 (8), then two scores not 50 % below baseline: a relapse
    # from day 21 (the relapse policy's consecutive scores).
    chart, assessment = chart_for([20, 8, 15, 16], [0, 7, 21, 28])
    relapse = assessment.get("relapse")
    assert relapse.met
    since_x = next(p.x for p in chart.points if p.label == relapse.since.isoformat())
    assert chart.relapse.x == pytest.approx(since_x)
    svg = render_to_string("measures/_chart.html", {"chart": chart, "series": None})
    assert '<rect class="relapse"' in svg
    assert ">Relapse</text>" in svg
    assert "with a relapse" in svg
    # The label does not run into the threshold labels on the right.
    label_right = chart.relapse.label_x + text_width("Relapse")
    for line in chart.lines:
        line_left = chart.plot_right - text_width(line.label)
        apart_x = label_right <= line_left
        apart_y = abs(line.label_y - chart.relapse.label_y) >= LINE_HEIGHT
        assert apart_x or apart_y


def test_no_relapse_no_warning():
    chart, assessment = chart_for([20, 8, 7], [0, 7, 14])
    assert not assessment.get("relapse").met
    assert chart.relapse is None
    svg = render_to_string("measures/_chart.html", {"chart": chart, "series": None})
    assert 'class="relapse"' not in svg
