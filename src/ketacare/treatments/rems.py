"""The esketamine REMS Patient Monitoring Form of a session (clinical-reference §2), filled
from what was recorded — the patient, the evaluation's concomitant medications, the plan's
prescriber, the dispense's lot, the dose steps, observations, alerts and adverse events —
never typed again. Reads only; recording the form's submission is an action
(``rems_actions``)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from ketacare.accounts.models import Clinic, User
from ketacare.clinical.datafiles import load
from ketacare.clinical.protocols.library import PROTOCOL_IDS, get_protocol
from ketacare.clinical.session import VitalSigns, discharge_problems
from ketacare.planning.actions import effective_answers
from ketacare.treatments.models import (
    ENDED,
    AdverseEvent,
    DoseStep,
    Observation,
    RemsSubmission,
    TreatmentSession,
)

# "The Patient Monitoring Form submitted within 7 days of every dose" [confirmed, REMS].
DEADLINE_DAYS = 7
# The label measures blood pressure "about 40 min after" dosing; the nearest reading within
# the window counts as the 40-minute one — the same reading discharge asks for.
_BP_RULE = load("session_thresholds")["discharge_by_route"]["intranasal_esketamine"]
BP_AT_MINUTES, BP_WINDOW_MINUTES = (
    int(_BP_RULE["bp_at_minutes"]),
    int(_BP_RULE["bp_window_minutes"]),
)
# MOAA/S 5 responds readily to the name spoken in a normal tone; below 5 is sedation.
AWAKE_MOAAS = 5
# Respiratory depression: a rate below 10/min (the bradypnoea alert's threshold) or either
# respiratory alert.
RESPIRATORY_RATE_BELOW = 10
RESPIRATORY_ALERTS = {"bradypnoea": "respiratory rate alert", "desaturation": "desaturation alert"}
CONCOMITANT = (
    ("medications.benzodiazepines", "Benzodiazepines"),
    ("medications.non_benzodiazepine_hypnotics", "Non-benzodiazepine hypnotics"),
    ("medications.psychostimulants", "Psychostimulants"),
    ("medications.maois", "Monoamine oxidase inhibitors (MAOIs)"),
    ("medications.opioids", "Opioids"),
)
ESKETAMINE_PROTOCOLS = tuple(p for p in PROTOCOL_IDS if get_protocol(p).drug == "esketamine")
# The doses the form names (56 mg, 84 mg); any other is "other".
LABEL_DOSES = tuple(
    sorted(
        {
            Decimal(str(d))
            for p in ESKETAMINE_PROTOCOLS
            for d in get_protocol(p).raw["allowed_doses_mg"]
        }
    )
)
NOT_RECORDED = "Not recorded"
READY_NOTE = (
    "From the first device to the first moment every discharge criterion about the patient "
    "was met (observation time, vital signs, blood pressure at about 40 minutes and no longer "
    "rising, no open alert), as recorded during the session."
)
SERIOUS: dict[str, str] = dict(load("adverse_events")["serious_criteria"])
PROVIDER_NOTE = "The staff member who monitored the session and signed its end."


def staff_name(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or str(user.get_username())


def yes_no(value: bool | None) -> str:
    return NOT_RECORDED if value is None else ("Yes" if value else "No")


def _clock(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%H:%M}"


def _minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


@dataclass(frozen=True)
class BloodPressure:
    systolic: int
    diastolic: int
    taken_at: datetime
    minutes_after_first_device: int | None

    def __str__(self) -> str:
        text = f"{self.systolic}/{self.diastolic} mmHg at {_clock(self.taken_at)}"
        if self.minutes_after_first_device is not None:
            text += f" ({self.minutes_after_first_device} min after the first device)"
        return text


@dataclass(frozen=True)
class Line:
    """One field of the form as printed: its label, its value, and where the value comes
    from when that is not obvious."""

    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[Line, ...]
    note: str = ""


@dataclass(frozen=True)
class RemsForm:
    """The Patient Monitoring Form's fields; None where nothing was recorded."""

    session_id: int
    mrn: str
    patient_name: str
    date_of_birth: date
    sex: str
    concomitant: tuple[tuple[str, bool | None], ...]  # (medicine class, taken?)
    evaluation_signed_at: datetime | None
    provider: str
    setting: str
    treatment_date: date
    first_treatment: bool
    dose_mg: Decimal | None
    lot_number: str
    first_device_at: datetime | None
    ended_at: datetime | None
    transfer: str
    total_minutes: int | None
    ready_minutes: int | None
    vitals_ok_before_dosing: bool | None
    gate_note: str
    vitals_ok_before_completion: bool | None
    completion_problems: tuple[str, ...]
    bp_before_dosing: BloodPressure | None
    bp_at_40_minutes: BloodPressure | None
    bp_before_completion: BloodPressure | None
    sedation: bool | None
    lowest_moaas: int | None
    dissociation: bool | None
    highest_cadss: int | None
    respiratory_depression: bool | None
    respiratory_findings: tuple[str, ...]
    pulse_oximetry: bool
    serious_adverse_events: tuple[str, ...]
    deadline: date

    @property
    def dose(self) -> str:
        """56 mg, 84 mg or other, as the form asks."""
        if self.dose_mg is None:
            return NOT_RECORDED
        mg = self.dose_mg.normalize()
        return f"{mg:f} mg" if self.dose_mg in LABEL_DOSES else f"Other: {mg:f} mg"

    def sections(self) -> tuple[Section, ...]:
        """The form as labelled lines, in the order of the paper form; the page and the PDF
        both print exactly these."""
        evaluation = (
            f"From the pre-treatment evaluation signed "
            f"{timezone.localtime(self.evaluation_signed_at):%Y-%m-%d}, with its addenda."
            if self.evaluation_signed_at
            else "From the pre-treatment evaluation, with its addenda."
        )
        return (
            Section(
                "Patient",
                (
                    Line("Patient name", self.patient_name),
                    Line("Date of birth", f"{self.date_of_birth:%Y-%m-%d}"),
                    Line("Sex", self.sex),
                ),
            ),
            Section(
                "Concomitant medications",
                tuple(Line(label, yes_no(taken)) for label, taken in self.concomitant),
                note=evaluation,
            ),
            Section(
                "Treatment",
                (
                    Line("Provider", self.provider, PROVIDER_NOTE),
                    Line("Setting", self.setting),
                    Line("Treatment date", f"{self.treatment_date:%Y-%m-%d}"),
                    Line(
                        "First treatment",
                        yes_no(self.first_treatment),
                        "No earlier discharged esketamine session in ketacare.",
                    ),
                    Line("Dose", self.dose),
                    Line("Lot number", self.lot_number or NOT_RECORDED),
                ),
            ),
            Section(
                "Monitoring",
                (
                    Line(
                        "Total minutes from first device to end of monitoring",
                        self._count(self.total_minutes),
                        self._span(),
                    ),
                    Line(
                        "Minutes until the patient would have been ready to leave",
                        self._count(self.ready_minutes),
                        self.transfer
                        if self.ready_minutes is None and self.transfer
                        else READY_NOTE,
                    ),
                    Line(
                        "Vital signs acceptable before dosing",
                        yes_no(self.vitals_ok_before_dosing),
                        self.gate_note,
                    ),
                    Line(
                        "Vital signs acceptable before completion",
                        yes_no(self.vitals_ok_before_completion),
                        "; ".join(self.completion_problems),
                    ),
                    Line("Blood pressure before dosing", self._bp(self.bp_before_dosing)),
                    Line(
                        "Blood pressure at 40 minutes",
                        self._bp(self.bp_at_40_minutes),
                        f"The reading nearest {BP_AT_MINUTES} min after the first device, "
                        f"within ±{BP_WINDOW_MINUTES} min.",
                    ),
                    Line("Blood pressure before completion", self._bp(self.bp_before_completion)),
                ),
            ),
            Section(
                "During the session",
                (
                    Line(
                        "Sedation",
                        yes_no(self.sedation),
                        f"Lowest MOAA/S {self.lowest_moaas}."
                        if self.lowest_moaas is not None
                        else "",
                    ),
                    Line(
                        "Dissociation",
                        yes_no(self.dissociation),
                        f"Highest CADSS {self.highest_cadss}."
                        if self.highest_cadss is not None
                        else "",
                    ),
                    Line(
                        "Respiratory depression",
                        yes_no(self.respiratory_depression),
                        "; ".join(self.respiratory_findings),
                    ),
                    Line("Pulse oximetry used", yes_no(self.pulse_oximetry)),
                    Line(
                        "Serious adverse events",
                        yes_no(bool(self.serious_adverse_events)),
                        "; ".join(self.serious_adverse_events),
                    ),
                ),
            ),
        )

    @staticmethod
    def _count(minutes: int | None) -> str:
        return NOT_RECORDED if minutes is None else str(minutes)

    @staticmethod
    def _bp(reading: BloodPressure | None) -> str:
        return NOT_RECORDED if reading is None else str(reading)

    def _span(self) -> str:
        if self.first_device_at is None or self.ended_at is None:
            return ""
        ended = "transferred" if self.transfer else "discharged"
        return f"First device {_clock(self.first_device_at)}, {ended} {_clock(self.ended_at)}."


def rems_sessions(clinic: Clinic) -> QuerySet[TreatmentSession]:
    """The clinic's sessions that need a form: every esketamine session discharged or
    transferred to emergency care."""
    return TreatmentSession.objects.filter(
        clinic=clinic,
        state__in=ENDED,
        plan__protocol_id__in=ESKETAMINE_PROTOCOLS,
    )


def no_form_reason(session: TreatmentSession) -> str:
    """Why this session has no Patient Monitoring Form; empty when it has one."""
    if session.plan.protocol_id not in ESKETAMINE_PROTOCOLS:
        return "Only esketamine sessions have a REMS Patient Monitoring Form."
    if session.state not in ENDED:
        return (
            "The REMS Patient Monitoring Form is ready once the patient is discharged "
            "(or transferred to emergency care)."
        )
    return ""


def treatment_date(session: TreatmentSession) -> date:
    """The day the dose was given (the planned day if no dose time was recorded)."""
    if session.dose_started_at is None:
        return session.date
    return timezone.localtime(session.dose_started_at).date()


def deadline(session: TreatmentSession) -> date:
    return treatment_date(session) + timedelta(days=DEADLINE_DAYS)


@dataclass(frozen=True)
class DashboardRow:
    session: TreatmentSession
    treatment_date: date
    deadline: date
    submission: RemsSubmission | None
    days_left: int  # negative once overdue

    @property
    def overdue(self) -> bool:
        return self.submission is None and self.days_left < 0

    @property
    def days_overdue(self) -> int:
        return max(0, -self.days_left)


def dashboard_row(session: TreatmentSession, today: date) -> DashboardRow:
    due = deadline(session)
    return DashboardRow(
        session=session,
        treatment_date=treatment_date(session),
        deadline=due,
        submission=getattr(session, "rems_submission", None),
        days_left=(due - today).days,
    )


def _reading(obs: Observation, first_device_at: datetime | None) -> BloodPressure | None:
    if obs.systolic is None or obs.diastolic is None:
        return None
    after = _minutes(first_device_at, obs.taken_at) if first_device_at else None
    return BloodPressure(obs.systolic, obs.diastolic, obs.taken_at, after)


def _at_40_minutes(
    monitoring: list[Observation], first_device_at: datetime | None
) -> BloodPressure | None:
    if first_device_at is None:
        return None
    target = first_device_at + timedelta(minutes=BP_AT_MINUTES)
    window = timedelta(minutes=BP_WINDOW_MINUTES)
    near = [
        o
        for o in monitoring
        if o.systolic is not None and o.diastolic is not None and abs(o.taken_at - target) <= window
    ]
    if not near:
        return None
    # Nearest first; of two equally near, the earlier one.
    nearest = min(near, key=lambda o: (abs(o.taken_at - target), o.taken_at, o.pk))
    return _reading(nearest, first_device_at)


def _vital_problems(obs: Observation) -> list[str]:
    """The discharge vital-sign limits this observation misses (and nothing else)."""
    vitals = VitalSigns(
        systolic=obs.systolic,
        diastolic=obs.diastolic,
        heart_rate=obs.heart_rate,
        spo2=obs.spo2,
        respiratory_rate=obs.respiratory_rate,
        moaas=obs.moaas,
    )
    return discharge_problems(
        minutes_since_dose=0,
        minimum_minutes=0,
        vitals=vitals,
        dissociation_resolved=True,
        responsible_adult_needed=False,
        responsible_adult_present=False,
    )


def _gate(session: TreatmentSession) -> tuple[bool | None, str]:
    if session.gate_checked_at is None:
        return None, ""
    if not session.gate_fired:
        return True, "The pre-dose vital signs passed the gate."
    checks = "; ".join(f["message"] for f in session.gate_fired)
    note = f"The pre-dose gate stopped dosing: {checks}"
    if session.gate_override_by is not None:
        note += (
            f" Prescriber {staff_name(session.gate_override_by)} dosed after weighing benefit "
            f"and risk: {session.gate_override_reason}"
        )
    return False, note


def _respiratory(
    monitoring: list[Observation], alert_ids: set[str], events: list[AdverseEvent]
) -> tuple[bool | None, tuple[str, ...]]:
    findings = [
        f"respiratory rate {o.respiratory_rate}/min at {_clock(o.taken_at)}"
        for o in monitoring
        if o.respiratory_rate is not None and o.respiratory_rate < RESPIRATORY_RATE_BELOW
    ]
    findings += [label for check, label in RESPIRATORY_ALERTS.items() if check in alert_ids]
    findings += [
        f"adverse event: {e.get_kind_display().lower()} at {_clock(e.occurred_at)}"
        for e in events
        if e.kind == AdverseEvent.Kind.DESATURATION
    ]
    if findings:
        return True, tuple(findings)
    measured = any(o.respiratory_rate is not None or o.spo2 is not None for o in monitoring)
    return (False, ()) if measured else (None, ())


def _is_first_treatment(session: TreatmentSession) -> bool:
    earlier = rems_sessions(session.clinic).filter(patient=session.patient).exclude(pk=session.pk)
    if session.dose_started_at is not None:
        earlier = earlier.filter(dose_started_at__lt=session.dose_started_at)
    else:
        earlier = earlier.filter(date__lt=session.date)
    return not earlier.exists()


def _concomitant(answers: dict[str, Any]) -> tuple[tuple[str, bool | None], ...]:
    def taken(value: Any) -> bool | None:
        return value if isinstance(value, bool) else None

    return tuple((label, taken(answers.get(path))) for path, label in CONCOMITANT)


def monitoring_form(session: TreatmentSession) -> RemsForm:
    """The Patient Monitoring Form of one esketamine session, from its records."""
    session = (
        TreatmentSession.objects.select_related(
            "clinic",
            "patient",
            "plan__evaluation",
            "discharged_by",
            "transferred_by",
            "transfer_decided_by",
            "gate_override_by",
            "dispense__lot",
        )
        .prefetch_related("plan__evaluation__addenda")
        .get(pk=session.pk)
    )
    observations = list(session.observations.all())
    pre_dose = [o for o in observations if o.phase == Observation.Phase.PRE_DOSE]
    monitoring = [o for o in observations if o.phase == Observation.Phase.MONITORING]
    device = session.steps.filter(kind=DoseStep.Kind.DEVICE).order_by("at", "id").first()
    first_device_at = device.at if device is not None else session.dose_started_at
    events = list(session.adverse_events.order_by("occurred_at", "id"))
    alert_ids = set(session.alerts.values_list("check_id", flat=True))
    evaluation = session.plan.evaluation

    # The gate ran on the last pre-dose vitals recorded; discharge judged the last
    # monitoring observation.
    gate_obs = max(pre_dose, key=lambda o: o.pk, default=None)
    last = monitoring[-1] if monitoring else None
    completion_problems = tuple(_vital_problems(last)) if last else ()
    vitals_ok, gate_note = _gate(session)
    moaas = [o.moaas for o in monitoring if o.moaas is not None]
    cadss = [o.cadss for o in monitoring if o.cadss is not None]
    respiratory, findings = _respiratory(monitoring, alert_ids, events)
    ended_at = session.ended_at
    total = _minutes(first_device_at, ended_at) if first_device_at and ended_at else None
    transfer = (
        f"Transferred to {session.transfer_destination} at {_clock(session.transferred_at)}: "
        f"{session.transfer_reason} (decided by {staff_name(session.transfer_decided_by)})."
        if session.transferred_at
        else ""
    )
    return RemsForm(
        session_id=session.pk,
        mrn=session.patient.mrn,
        patient_name=session.patient.full_name,
        date_of_birth=session.patient.date_of_birth,
        sex=session.patient.get_sex_at_birth_display(),
        concomitant=_concomitant(effective_answers(evaluation)),
        evaluation_signed_at=evaluation.signed_at,
        provider=staff_name(session.discharged_by or session.transferred_by),
        setting=", ".join(
            part
            for part in (
                session.clinic.name,
                " ".join(session.clinic.address.split()),
                session.clinic.phone and f"tel. {session.clinic.phone}",
            )
            if part
        ),
        treatment_date=treatment_date(session),
        first_treatment=_is_first_treatment(session),
        dose_mg=session.dose_mg,
        lot_number=session.dispense.lot.lot_number if session.dispense else "",
        first_device_at=first_device_at,
        ended_at=ended_at,
        transfer=transfer,
        total_minutes=total,
        ready_minutes=(
            _minutes(first_device_at, session.ready_at)
            if first_device_at and session.ready_at
            else None
        ),
        vitals_ok_before_dosing=vitals_ok,
        gate_note=gate_note,
        vitals_ok_before_completion=None if last is None else not completion_problems,
        completion_problems=completion_problems,
        bp_before_dosing=_reading(gate_obs, None) if gate_obs else None,
        bp_at_40_minutes=_at_40_minutes(monitoring, first_device_at),
        bp_before_completion=_reading(last, first_device_at) if last else None,
        sedation=any(m < AWAKE_MOAAS for m in moaas) if moaas else None,
        lowest_moaas=min(moaas, default=None),
        dissociation=any(c > 0 for c in cadss) if cadss else None,
        highest_cadss=max(cadss, default=None),
        respiratory_depression=respiratory,
        respiratory_findings=findings,
        pulse_oximetry=any(o.spo2 is not None for o in monitoring),
        serious_adverse_events=tuple(
            f"{e.get_kind_display()} at {_clock(e.occurred_at)} ("
            + ", ".join(SERIOUS.get(c, c).lower() for c in e.serious_criteria)
            + ")"
            + (f": {e.description}" if e.description else "")
            for e in events
            if e.serious
        ),
        deadline=deadline(session),
    )
