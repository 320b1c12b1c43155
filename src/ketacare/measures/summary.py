"""Everything the measures page shows for one patient, in a fixed number of queries."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from django.utils import timezone

from ketacare.clinical.instruments import Instrument, get
from ketacare.clinical.outcomes import Assessment, Measure, assess
from ketacare.clinical.outcomes.trajectory import BaselineRule, baseline_rule, in_baseline_window
from ketacare.measures.actions import preferred_channel
from ketacare.measures.charts import Chart, trajectory_chart
from ketacare.measures.contact import REFUSALS, Refusal, refusal_for
from ketacare.measures.models import Assignment, PatientLink, QuestionnaireResponse, SafetyAlert
from ketacare.measures.schedule import next_due
from ketacare.patients.models import Patient
from ketacare.treatments.models import TreatmentSession


@dataclass(frozen=True)
class InstrumentSeries:
    instrument: Instrument
    responses: list[QuestionnaireResponse]
    assessment: Assessment
    chart: Chart | None
    stale_baseline: bool = False
    """Before the first dose: the latest score is already too old to become the baseline."""

    @property
    def latest(self) -> QuestionnaireResponse:
        return self.responses[-1]


@dataclass(frozen=True)
class ScheduledItem:
    assignment: Assignment
    next_due: date | None
    not_sent: Refusal | None = None
    """Why the dispatch could not send it, while the patient still cannot be contacted."""


@dataclass(frozen=True)
class OpenLink:
    link: PatientLink
    reminder_not_sent: Refusal | None = None


@dataclass(frozen=True)
class PatientSummary:
    series: list[InstrumentSeries]
    open_alerts: list[SafetyAlert]
    open_links: list[OpenLink]
    schedule: list[ScheduledItem]
    doses: list[datetime]
    """When each dose was started (the dosed treatment sessions), in time order."""
    rule: BaselineRule
    contact: Refusal | None = None
    """Why no link may go out by text or email now (None: it may)."""

    @property
    def first_dose(self) -> datetime | None:
        return self.doses[0] if self.doses else None

    @property
    def baseline_note(self) -> str:
        """Which score is each questionnaire's baseline, in the registry's words."""
        days = self.rule.lookback_days
        if self.first_dose is None:
            return (
                "Baseline: latest score so far; no dose recorded yet. It stays the baseline if "
                f"the first dose follows within {days} days of it; response and remission are "
                "judged only on scores after the first dose."
            )
        first = timezone.localtime(self.first_dose)
        return (
            f"Baseline: each questionnaire's last score on or before the first dose "
            f"({first:%Y-%m-%d %H:%M}), at most {days} days before it, as in the outcomes "
            "registry."
        )


def patient_summary(patient: Patient) -> PatientSummary:
    responses = QuestionnaireResponse.objects.filter(patient=patient).order_by("completed_at", "id")
    by_instrument: dict[str, list[QuestionnaireResponse]] = defaultdict(list)
    for response in responses:
        by_instrument[response.instrument_id].append(response)
    # The registry's first dose: the earliest dosed session (dose_started_at set).
    # dose_started_at__isnull=False: no None among them.
    doses = cast(
        list[datetime],
        list(
            TreatmentSession.objects.filter(patient=patient, dose_started_at__isnull=False)
            .order_by("dose_started_at")
            .values_list("dose_started_at", flat=True)
        ),
    )
    first_dose = doses[0] if doses else None
    rule = baseline_rule()
    now = timezone.now()
    series = []
    for instrument_id, items in sorted(by_instrument.items()):
        instrument = get(instrument_id)
        measures = [Measure(r.completed_at, r.total) for r in items if r.total is not None]
        assessment = assess(instrument, measures, first_treatment=first_dose, rule=rule)
        points = [
            (r.completed_at, r.total, timezone.localtime(r.completed_at).strftime("%Y-%m-%d %H:%M"))
            for r in items
            if r.total is not None
        ]
        # Were the first dose given now, would the provisional baseline still count?
        stale = (
            first_dose is None
            and assessment.baseline is not None
            and not in_baseline_window(assessment.baseline.taken_at, now, rule.lookback)
        )
        series.append(
            InstrumentSeries(
                instrument,
                items,
                assessment,
                trajectory_chart(instrument, points, assessment, doses),
                stale,
            )
        )
    open_alerts = list(
        SafetyAlert.objects.filter(patient=patient, acknowledged_at__isnull=True)
        .select_related("response")
        .order_by("-created_at")
    )
    open_links = [
        OpenLink(link, REFUSALS.get(link.reminder_not_sent))
        for link in PatientLink.objects.filter(
            patient=patient, used_at__isnull=True, expires_at__gt=timezone.now()
        ).order_by("-created_at")
    ]
    refused = refusal_for(patient, preferred_channel(patient))
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
            REFUSALS.get(a.not_sent_reason) if refused else None,
        )
        for a in Assignment.objects.filter(patient=patient, active=True).order_by("id")
    ]
    return PatientSummary(series, open_alerts, open_links, schedule, doses, rule, refused)
