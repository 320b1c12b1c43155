"""Questionnaire responses: entered by staff, scored, with the safety alerts they raise;
and their export."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction

from ketacare.actor import Actor
from ketacare.audit.record import Action, field_changes, record
from ketacare.bounds import check_datetime
from ketacare.clinical.instruments import Instrument, get, score
from ketacare.clinical.safety import safety_signals
from ketacare.measures.actions.safety import tell_alerts
from ketacare.measures.fhir import measures_bundle
from ketacare.measures.models import PatientLink, QuestionnaireResponse, SafetyAlert
from ketacare.patients.models import Patient
from ketacare.writes import DATABASE, Writes


@transaction.atomic
def record_staff_response(
    actor: Actor,
    patient: Patient,
    instrument_id: str,
    answers: Sequence[int],
    completed_at: datetime,
    sex: str | None = None,
) -> QuestionnaireResponse:
    """A clinician-rated instrument, or a patient's paper form, entered by staff."""
    check_datetime(completed_at, actor.today(), "The completion date")
    response, alerts = write_response(
        DATABASE,
        actor,
        patient,
        instrument_id,
        answers,
        completed_at,
        QuestionnaireResponse.Source.STAFF,
        sex=sex,
    )
    tell_alerts(alerts, actor.clock, actor.outbox)
    return response


def write_response(
    writes: Writes,
    actor: Actor,
    patient: Patient,
    instrument_id: str,
    answers: Sequence[int],
    completed_at: datetime,
    source: str,
    sex: str | None = None,
    link: PatientLink | None = None,
) -> tuple[QuestionnaireResponse, list[SafetyAlert]]:
    """What a response writes, once checked: the scored response, and a safety alert for each
    signal its answers raise (returned, for the action to tell the prescribers)."""
    instrument = get(instrument_id)
    result = score(instrument, answers, sex=sex or sex_for_scoring(patient))
    response = writes.add(
        QuestionnaireResponse(
            patient=patient,
            instrument_id=instrument.id,
            instrument_version=instrument.version,
            answers=list(answers),
            total=result.total,
            severity=result.severity or "",
            flags=list(result.flags),
            subscales=result.subscales,
            completed_at=completed_at,
            source=source,
            entered_by=actor.user,
            link=link,
        )
    )
    writes.record(
        actor,
        Action.CREATE,
        obj=response,
        object_type="questionnaire_response",
        patient=patient,
        clinic=patient.clinic,
        changes=field_changes(
            {},
            {
                "instrument": instrument.id,
                "answers": list(answers),
                "total": result.total,
                "severity": result.severity,
                "flags": list(result.flags),
            },
        ),
    )
    alerts = []
    for signal in safety_signals(result):
        alert = writes.add(
            SafetyAlert(
                patient=patient,
                clinic=patient.clinic,
                response=response,
                flag=signal.flag,
                rule=signal.rule,
                source=signal.source,
                created_at=actor.now(),
            )
        )
        writes.record(
            actor,
            Action.CREATE,
            obj=alert,
            object_type="safety_alert",
            patient=patient,
            clinic=patient.clinic,
            changes=field_changes({}, {"flag": signal.flag}),
        )
        alerts.append(alert)
    return response, alerts


def sex_for_scoring(patient: Patient) -> str | None:
    """The chart's sex at birth where a sex-specific cut-off can use it, else None."""
    return patient.sex_at_birth if patient.sex_at_birth in ("female", "male") else None


def must_ask_sex(instrument: Instrument, patient: Patient) -> bool:
    """Whether the form must ask the sex: the instrument's cut-off needs it and the chart
    does not say female or male."""
    return instrument.needs_sex and sex_for_scoring(patient) is None


def export_fhir(actor: Actor, patient: Patient) -> dict[str, Any]:
    """The patient's measures as a FHIR Bundle; every export is audited."""
    responses = QuestionnaireResponse.objects.filter(patient=patient).order_by("completed_at", "id")
    bundle = measures_bundle(patient, responses)
    with transaction.atomic():
        record(
            actor,
            Action.EXPORT,
            obj=patient,
            patient=patient,
            clinic=patient.clinic,
            changes={"format": "fhir-r4-bundle", "entries": len(bundle["entry"])},
        )
    return bundle
