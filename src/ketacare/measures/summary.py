"""Everything the measures page shows for one patient, in a fixed number of queries."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from ketacare.clinical.instruments import Instrument, get
from ketacare.clinical.outcomes import Assessment, Measure, assess
from ketacare.measures.charts import Chart, trajectory_chart
from ketacare.measures.models import Assignment, PatientLink, QuestionnaireResponse, SafetyAlert
from ketacare.measures.schedule import next_due
from ketacare.patients.models import Patient

# Until dosing sessions are recorded in ketacare (a later capability), the first score of
# each instrument stands in as the baseline; the page says so.
BASELINE_NOTE = (
    "Baseline: no treatment sessions are recorded in ketacare yet, so each questionnaire's "
    "first score is used as the baseline."
)


@dataclass(frozen=True)
class InstrumentSeries:
    instrument: Instrument
    responses: list[QuestionnaireResponse]
    assessment: Assessment
    chart: Chart | None

    @property
    def latest(self) -> QuestionnaireResponse:
        return self.responses[-1]


@dataclass(frozen=True)
class ScheduledItem:
    assignment: Assignment
    next_due: date | None


@dataclass(frozen=True)
class PatientSummary:
    series: list[InstrumentSeries]
    open_alerts: list[SafetyAlert]
    open_links: list[PatientLink]
    schedule: list[ScheduledItem]
    baseline_note: str = BASELINE_NOTE


def patient_summary(patient: Patient) -> PatientSummary:
    responses = QuestionnaireResponse.objects.filter(patient=patient).order_by("completed_at", "id")
    by_instrument: dict[str, list[QuestionnaireResponse]] = defaultdict(list)
    for response in responses:
        by_instrument[response.instrument_id].append(response)
    series = []
    for instrument_id, items in sorted(by_instrument.items()):
        instrument = get(instrument_id)
        measures = [Measure(r.completed_at, r.total) for r in items if r.total is not None]
        first = measures[0].taken_at if measures else None
        assessment = assess(instrument, measures, first_treatment=first)
        points = [
            (r.completed_at, r.total, timezone.localtime(r.completed_at).strftime("%Y-%m-%d %H:%M"))
            for r in items
            if r.total is not None
        ]
        series.append(
            InstrumentSeries(
                instrument, items, assessment, trajectory_chart(instrument, points, assessment)
            )
        )
    open_alerts = list(
        SafetyAlert.objects.filter(patient=patient, acknowledged_at__isnull=True)
        .select_related("response")
        .order_by("-created_at")
    )
    open_links = list(
        PatientLink.objects.filter(
            patient=patient, used_at__isnull=True, expires_at__gt=timezone.now()
        ).order_by("-created_at")
    )
    schedule = [
        ScheduledItem(
            a,
            next_due(
                a.schedule,
                a.starts_on,
                timezone.localdate(by_instrument[a.instrument_id][-1].completed_at)
                if by_instrument.get(a.instrument_id)
                else None,
                a.every_days,
            ),
        )
        for a in Assignment.objects.filter(patient=patient, active=True).order_by("id")
    ]
    return PatientSummary(series, open_alerts, open_links, schedule)
