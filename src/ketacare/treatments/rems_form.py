"""The esketamine REMS Patient Monitoring Form as printed (clinical-reference §2): its fields,
and the labelled lines, in the order of the paper form, that the page, the printable page and
the PDF all show. Filled from the session's records by ``rems_fill``."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from ketacare.accounts.models import User
from ketacare.clinical.session.rems import bp_at_minutes, form_doses_mg

NOT_RECORDED = "Not recorded"
TITLE = "Spravato (esketamine) REMS: Patient Monitoring Form"
PROVIDER_NOTE = "The staff member who monitored the session and signed its end."


def staff_name(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or str(user.get_username())


def yes_no(value: bool | None) -> str:
    return NOT_RECORDED if value is None else ("Yes" if value else "No")


def clock(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%H:%M}"


@dataclass(frozen=True)
class BloodPressure:
    systolic: int
    diastolic: int
    taken_at: datetime
    minutes_after_first_device: int | None

    def __str__(self) -> str:
        text = f"{self.systolic}/{self.diastolic} mmHg at {clock(self.taken_at)}"
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
        return f"{mg:f} mg" if self.dose_mg in form_doses_mg() else f"Other: {mg:f} mg"

    def sections(self) -> tuple[Section, ...]:
        """The form as labelled lines, in the order of the paper form; the page and the PDF
        both print exactly these."""
        bp_at, bp_window = bp_at_minutes()
        ready_note = (
            "From the first device to the first moment every discharge criterion about the "
            f"patient was met (observation time, vital signs, blood pressure at about {bp_at} "
            "minutes and no longer rising, no open alert), as recorded during the session."
        )
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
                        else ready_note,
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
                        f"The reading nearest {bp_at} min after the first device, "
                        f"within ±{bp_window} min.",
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
        return f"First device {clock(self.first_device_at)}, {ended} {clock(self.ended_at)}."
