"""The REMS Patient Monitoring Form of one esketamine session, filled from what was recorded
— the patient, the evaluation's concomitant medications, the plan's prescriber, the dispense's
lot, the dose steps, observations, alerts and adverse events — never typed again. What counts
as sedation, dissociation, respiratory depression or the 40-minute blood pressure is
``clinical.session.rems``'s to say."""

from datetime import datetime, timedelta
from typing import Any

from ketacare.clinical.datafiles import load
from ketacare.clinical.session import VitalSigns, discharge_problems
from ketacare.clinical.session.rems import (
    bp_at_minutes,
    concomitant_questions,
    dissociated,
    low_respiratory_rate,
    respiratory_adverse_events,
    respiratory_alerts,
    sedated,
)
from ketacare.planning.actions import effective_answers
from ketacare.treatments.models import AdverseEvent, DoseStep, Observation, TreatmentSession
from ketacare.treatments.rems import deadline, rems_sessions, treatment_date
from ketacare.treatments.rems_form import BloodPressure, RemsForm, clock, staff_name


def _minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


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
    at, within = bp_at_minutes()
    target = first_device_at + timedelta(minutes=at)
    window = timedelta(minutes=within)
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
        f"respiratory rate {o.respiratory_rate}/min at {clock(o.taken_at)}"
        for o in monitoring
        if o.respiratory_rate is not None and low_respiratory_rate(o.respiratory_rate)
    ]
    findings += [label for check, label in respiratory_alerts().items() if check in alert_ids]
    findings += [
        f"adverse event: {e.get_kind_display().lower()} at {clock(e.occurred_at)}"
        for e in events
        if e.kind in respiratory_adverse_events()
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

    return tuple((label, taken(answers.get(path))) for path, label in concomitant_questions())


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
    serious: dict[str, str] = dict(load("adverse_events")["serious_criteria"])
    transfer = (
        f"Transferred to {session.transfer_destination} at {clock(session.transferred_at)}: "
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
        sedation=any(sedated(m) for m in moaas) if moaas else None,
        lowest_moaas=min(moaas, default=None),
        dissociation=any(dissociated(c) for c in cadss) if cadss else None,
        highest_cadss=max(cadss, default=None),
        respiratory_depression=respiratory,
        respiratory_findings=findings,
        pulse_oximetry=any(o.spo2 is not None for o in monitoring),
        serious_adverse_events=tuple(
            f"{e.get_kind_display()} at {clock(e.occurred_at)} ("
            + ", ".join(serious.get(c, c).lower() for c in e.serious_criteria)
            + ")"
            + (f": {e.description}" if e.description else "")
            for e in events
            if e.serious
        ),
        deadline=deadline(session),
    )
