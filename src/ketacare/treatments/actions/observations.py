"""Vital signs and scores: before the dose they run the pre-dose gate (and a prescriber may
override it); after it they raise an alert for every monitoring threshold they cross."""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from ketacare.actor import Actor
from ketacare.clinical.protocols.library import Protocol
from ketacare.clinical.session import (
    GateState,
    Reading,
    VitalSigns,
    alerts,
    gate_state,
    plausibility_problems,
)
from ketacare.treatments.actions.common import (
    GATE_OVERRIDE_SIGNATURE,
    VITAL_FIELDS,
    SessionError,
    State,
    confirm_password,
    keep_related,
    load_session,
    protocol_of,
    require,
    require_prescriber,
    write_session,
    write_session_audit,
)
from ketacare.treatments.actions.readiness import write_readiness
from ketacare.treatments.models import Observation, SessionAlert, TreatmentSession
from ketacare.writes import DATABASE, Writes


def _vitals(values: dict[str, Any]) -> VitalSigns:
    clean = {}
    for name in VITAL_FIELDS:
        value = values.get(name)
        if value in (None, ""):
            continue
        if isinstance(value, bool) or not str(value).strip().lstrip("-").isdigit():
            raise SessionError(f"{name.replace('_', ' ')} must be a whole number, got {value!r}.")
        clean[name] = int(value)
    vitals = VitalSigns(**clean)
    problems = plausibility_problems(vitals)
    if problems:
        raise SessionError("Implausible values, not saved: " + "; ".join(problems) + ".")
    return vitals


@transaction.atomic
def record_observation(
    actor: Actor,
    session_id: int,
    values: dict[str, Any],
    taken_at: datetime | None = None,
) -> Observation:
    """Vital signs and scores. Before dosing they run the pre-dose gate; afterwards they raise
    an alert for every monitoring threshold they cross."""
    session = load_session(actor, session_id)
    require(session, State.CHECKED_IN, State.DOSING, State.MONITORING)
    vitals = _vitals(values)
    cadss = values.get("cadss")
    if cadss not in (None, "") and not (str(cadss).isdigit() and 0 <= int(cadss) <= 92):
        raise SessionError(f"CADSS must be a whole number from 0 to 92, got {cadss!r}.")
    now = actor.now()
    taken_at = taken_at or now
    if taken_at > now:
        raise SessionError("An observation cannot be recorded ahead of time.")
    verdict = None
    if session.state == State.CHECKED_IN:
        readings = _pre_dose_readings(session)
        if readings and taken_at < readings[-1].at:
            raise SessionError(
                "Pre-dose readings are recorded in the order taken: this one is earlier than "
                f"the last ({timezone.localtime(readings[-1].at):%H:%M})."
            )
        verdict = pre_dose_verdict(protocol_of(session), readings, Reading(taken_at, vitals))
    observation, _ = write_observation(
        DATABASE,
        actor,
        session,
        vitals,
        cadss=int(cadss) if cadss not in (None, "") else None,
        taken_at=taken_at,
        verdict=verdict,
    )
    return observation


def write_observation(
    writes: Writes,
    actor: Actor,
    session: TreatmentSession,
    vitals: VitalSigns,
    *,
    cadss: int | None,
    taken_at: datetime,
    verdict: tuple[GateState, dict[str, Any]] | None,
) -> tuple[Observation, list[SessionAlert]]:
    """What an observation writes, once its checks have passed: before the dose (``verdict``,
    the gate after it) the session's gate; after it, the alerts it raises and the readiness
    it changes. Returns the observation and those alerts."""
    now = actor.now()
    state, gate = verdict if verdict is not None else (None, {})
    observation = writes.add(
        Observation(
            session=session,
            phase=Observation.Phase.PRE_DOSE if state is not None else Observation.Phase.MONITORING,
            taken_at=taken_at,
            cadss=cadss,
            gate=gate,
            recorded_by=actor.user,
            recorded_at=now,
            **{name: vitals.value(name) for name in VITAL_FIELDS},
        )
    )
    keep_related(session, "observations", observation)
    raised: list[SessionAlert] = []
    if state is not None:
        fields = gate_fields(state, now)
        for name, value in fields.items():
            setattr(session, name, value)
        write_session(writes, actor, session, *fields)
    else:
        for hit in alerts(protocol_of(session).eligibility_route, vitals):
            alert = writes.add(
                SessionAlert(
                    session=session,
                    observation=observation,
                    check_id=hit.check.id,
                    message=hit.check.message,
                    source=hit.check.source,
                    values=hit.values,
                    created_at=now,
                )
            )
            keep_related(session, "alerts", alert)
            raised.append(alert)
        write_readiness(writes, session, now)
    write_session_audit(writes, actor, session, "observation", **observation_audit(vitals, gate))
    return observation, raised


def observation_audit(vitals: VitalSigns, gate: dict[str, Any]) -> dict[str, Any]:
    """What the audit event of an observation records."""
    return {
        "values": {name: vitals.value(name) for name in VITAL_FIELDS},
        "gate": [f["id"] for f in gate.get("fired", [])],
        "gate_counted": gate.get("counted"),
    }


def pre_dose_verdict(
    protocol: Protocol, readings: list[Reading], reading: Reading
) -> tuple[GateState, dict[str, Any]]:
    """The gate after ``reading`` joins the earlier ``readings``, and the reading's own verdict
    as the observation stores it (``clinical.session.gate_state`` decides)."""
    try:
        state = gate_state(protocol.eligibility_route, [*readings, reading])
    except ValueError as error:
        raise SessionError(f"Pre-dose vitals: {error}.") from None
    verdict = state.readings[-1]
    return state, {
        "fired": [f.as_dict() for f in verdict.fired + verdict.severe],
        "counted": verdict.counted,
        "note": verdict.note,
    }


def pre_dose_readings(observations: Any) -> list[Reading]:
    """The pre-dose readings among ``observations``, in the order taken."""
    return [
        Reading(o.taken_at, VitalSigns(**{name: getattr(o, name) for name in VITAL_FIELDS}))
        for o in sorted(observations, key=lambda o: (o.taken_at, o.pk))
        if o.phase == Observation.Phase.PRE_DOSE
    ]


def _pre_dose_readings(session: TreatmentSession) -> list[Reading]:
    return pre_dose_readings(session.observations.filter(phase=Observation.Phase.PRE_DOSE))


def gate_fields(state: GateState, now: datetime) -> dict[str, Any]:
    """The session's gate fields after a new pre-dose reading. A new reading is a new gate:
    an earlier override does not carry over."""
    return {
        "gate_fired": [f.as_dict() for f in state.holding],
        "gate_checked_at": now,
        "gate_stopped_at": state.stopped_at,
        "gate_severe": state.severe,
        "gate_cleared_at": state.cleared_at,
        "gate_override_by_id": None,
        "gate_override_reason": "",
        "gate_override_at": None,
    }


def override_gate(
    actor: Actor, session_id: int, reason: str, password: str, code: str = ""
) -> TreatmentSession:
    """A prescriber's documented benefit/risk decision to dose despite the gate."""
    require_prescriber(actor, "override the pre-dose gate")
    confirm_password(actor, password, code, prompt=GATE_OVERRIDE_SIGNATURE)
    return _override_gate(actor, session_id, reason)


@transaction.atomic
def _override_gate(actor: Actor, session_id: int, reason: str) -> TreatmentSession:
    session = load_session(actor, session_id)
    require(session, State.CHECKED_IN)
    state = gate_state(protocol_of(session).eligibility_route, _pre_dose_readings(session))
    refusal = state.refusal_to_override
    if refusal is not None:
        raise SessionError(refusal)
    if not reason.strip():
        raise SessionError("Write the benefit/risk reason for dosing despite the gate.")
    write_gate_override(DATABASE, actor, session, reason)
    return session


def write_gate_override(
    writes: Writes, actor: Actor, session: TreatmentSession, reason: str
) -> None:
    """What a gate override writes, once its checks (and the signature) have passed."""
    session.gate_override_by, session.gate_override_reason = actor.user, reason.strip()
    session.gate_override_at = actor.now()
    write_session(
        writes, actor, session, "gate_override_by", "gate_override_reason", "gate_override_at"
    )
    write_session_audit(
        writes,
        actor,
        session,
        "gate_override",
        checks=[f["id"] for f in session.gate_fired],
        reason=session.gate_override_reason,
    )
