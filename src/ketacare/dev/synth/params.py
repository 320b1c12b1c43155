"""What the synthetic program looks like (``SynthParams``), what it made (``SynthReport``), and
the refusal of a run that cannot be made (``SynthError``)."""

import math
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone

from ketacare.bounds import EARLIEST_DATE, date_problem

INDICATIONS = ("trd", "mdd_with_suicidal_ideation", "anxiety", "ptsd")


@dataclass(frozen=True)
class SynthParams:
    """What the synthetic program looks like. Rates are probabilities (0–1).

    Outcomes are on the PHQ-9, as the registry reads them (``clinical/outcomes/trajectory``):
    baseline is the score on the first dosing day before the dose; the *endpoint* is the
    latest score within ``endpoint_days`` after the last induction dose.

    - ``response_rate``: share of patients who finish induction whose endpoint score is at
      least 50 % below baseline (McInnes 2022: 53.6 %; Oliver 2022: 50 %).
    - ``remission_rate``: share of the same patients (all of them responders) whose endpoint
      score is below 5 (McInnes 28.9 %; Oliver 20 %).
    - ``relapse_rate``: share of responders whose scores go back above the response line at a
      time uniformly distributed over the ``follow_up_weeks`` after the endpoint window
      (McInnes: ~80 % sustained at 4 weeks, ~60 % at 8 weeks without maintenance), from the
      first follow-up questionnaire sent on or after that time. ``SynthReport.responses``
      keeps each drawn responder's first response and relapse, the truth a test sets
      against the Kaplan-Meier curve.
    - ``severe_hypertension_rate``: dosed sessions with a reading above 180/110 (Yale: 0.98 %).
    """

    patients: int = 200
    seed: int = 0
    months: float = 12
    clinic: str = "Synthetic Ketamine Clinic"
    every_day: bool = False  # a new clinic treats every day; else Monday to Friday
    end: date | None = None  # the program runs until midnight starting this day (default today)

    # Who is referred (shares of INDICATIONS, in order).
    indication_shares: tuple[float, ...] = (0.72, 0.10, 0.10, 0.08)
    female_share: float = 0.58
    intersex_share: float = 0.01
    mean_age: float = 42.0
    # Of depressed patients (TRD, MDD-SI), those planned on esketamine when it is allowed.
    esketamine_share: float = 0.22
    im_share: float = 0.04  # of racemic-ketamine plans, IM instead of IV
    iv_titrated_start_share: float = 0.08  # IV plans that start at 0.75 mg/kg

    # Eligibility: findings that exclude a route or need a specialist's clearance.
    psychosis_rate: float = 0.02  # needs clearance on every route
    vascular_rate: float = 0.015  # aneurysm: esketamine excluded, ketamine needs clearance
    substance_use_rate: float = 0.03  # needs clearance on every route
    clearance_rate: float = 0.5  # of those needing clearance, a specialist clears them

    # Outcomes (see above).
    response_rate: float = 0.536
    remission_rate: float = 0.289
    relapse_rate: float = 0.40
    endpoint_days: int = 28
    follow_up_weeks: int = 8

    # Attendance.
    dropout_rate: float = 0.08  # stop coming during induction
    no_show_rate: float = 0.01  # per session: cancelled on the day
    reschedule_rate: float = 0.03  # per session: moved by phone two days before
    missed_questionnaire_rate: float = 0.15  # home questionnaires never answered
    # Patients who consent to the de-identified research registry at registration (an
    # assumption: the research export leaves out everyone else).
    research_consent_rate: float = 0.9
    # AUDIT-C or DAST-10 positive when screened again at the end of induction (an
    # assumption, for the registry's misuse signal).
    rescreen_positive_rate: float = 0.04

    # The dosing day.
    severe_hypertension_rate: float = 0.0098
    peak_bp_rise: tuple[float, float] = (16.0, 11.0)  # mean peak rise at ~40 min (Yale), mmHg
    gate_recheck_drop: tuple[int, int] = (4, 14)  # mmHg lower after ten minutes' rest
    iv_titration_rate: float = 0.3  # IV non-responders going to 0.75 mg/kg at session 4
    esketamine_84_rate: float = 0.5  # esketamine TRD patients raised to 84 mg from session 2
    # Per dosed session, by drug (kinds of AdverseEvent).
    adverse_event_rates: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "racemic_ketamine": {
                "nausea": 0.08,
                "vomiting": 0.02,
                "headache": 0.05,
                "emergence": 0.04,
                "other": 0.04,
            },
            "esketamine": {
                "nausea": 0.15,
                "vomiting": 0.05,
                "headache": 0.10,
                "emergence": 0.04,
                "other": 0.12,
            },
        }
    )
    tachycardia_rate: float = 0.005
    desaturation_rate: float = 0.002


@dataclass
class SynthReport:
    """What was made, for the command's summary and the benchmark."""

    clinic_id: int = 0
    patients: int = 0
    sessions: int = 0
    dosed: int = 0
    severe_hypertension: int = 0
    questionnaires: int = 0
    steps: int = 0
    seconds: float = 0.0
    write_seconds: float = 0.0  # of which writing batches (bulk path)
    # The truth behind the durability curve, per patient id of a drawn responder: when their
    # PHQ-9 first met the response line, and when the drawn relapse was first reported (the
    # answer to the first questionnaire sent after it began; for a patient whose follow-up
    # the program's end cut short, when it began), None: never.
    responses: dict[int, tuple[datetime, datetime | None]] = field(default_factory=dict)

    def durability_days(self) -> list[float]:
        """Days from the first response to the drawn relapse of every drawn responder who
        reached the relapse draw (inf: never relapses), for a test to set against the
        Kaplan-Meier estimate."""
        return [
            math.inf if onset is None else (onset - responded).total_seconds() / 86400
            for responded, onset in self.responses.values()
        ]


class SynthError(RuntimeError):
    """The generator cannot run as asked (e.g. the clinic already has patients)."""


def span_days(months: float, end_day: date) -> int:
    """The program's length in days, or SynthError when its days are not all within the
    dates ketacare accepts (``bounds``), as an action would refuse them one by one."""
    problem = date_problem(end_day, timezone.localdate(), "The program's last day (--end)")
    if problem:
        raise SynthError(problem)
    if not (math.isfinite(months) and months >= 0):
        raise SynthError(f"The number of months must be 0 or more, got {months}.")
    if months * 30.44 > (end_day - EARLIEST_DATE).days:
        raise SynthError(f"{months} months before {end_day} starts before {EARLIEST_DATE}.")
    return round(months * 30.44)
