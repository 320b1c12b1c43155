"""What ``treatments.actions`` (and ``rems_actions``) write on the dosing day: the session
opened or cancelled, check-in, observations with the pre-dose gate and monitoring alerts, the
gate override, the dose (its dispense on the ledger), devices and pump steps, adverse events,
alerts acknowledged, discharge with its note, and the REMS form."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from ketacare.accounts.access import Actor
from ketacare.audit.record import Action
from ketacare.clinical.protocols.library import get_protocol
from ketacare.clinical.session import Reading, alerts
from ketacare.dev.synth.bulk.base import BulkBase, as_stored
from ketacare.dev.synth.clock import Clock
from ketacare.dev.synth.ops import vital_signs
from ketacare.dev.synth.setup import Staff, StockSetup
from ketacare.dev.synth.sinks import LocalSink, PipeSink
from ketacare.inventory.models import LedgerEntry
from ketacare.planning.models import PlannedSession
from ketacare.treatments import actions as treatments
from ketacare.treatments.actions import VITAL_FIELDS, Checklist, Supply
from ketacare.treatments.models import (
    AdverseEvent,
    DoseStep,
    Observation,
    RemsSubmission,
    SessionAlert,
    TreatmentSession,
)
from ketacare.treatments.note import session_note


class SessionDayOps(BulkBase):
    """The dosing day as rows (``treatments.actions``, ``treatments.rems_actions``)."""

    def __init__(
        self, stock: StockSetup, staff: Staff, clock: Clock, sink: LocalSink | PipeSink
    ) -> None:
        super().__init__(stock, staff, clock, sink)
        self.session_alerts: dict[int, SessionAlert] = {}  # until acknowledged
        self.devices: dict[int, int] = {}  # nasal devices a session's dose needs
        self.discharged: dict[int, int] = {}  # session → patient, until its REMS form

    def _save(self, session: TreatmentSession, **values: Any) -> None:
        """Set fields as ``session.save()`` would store them (``updated_at`` included), with
        the staff behind each ``*_by`` field, which the session note names."""
        for name, value in values.items():
            setattr(session, name, value)
            if name.endswith("_by_id"):
                setattr(session, name[:-3], self.users.get(value))
        self.w.update(TreatmentSession, session.pk, **values, updated_at=self.clock.at)

    def _session_audit(
        self, actor: Actor, session: TreatmentSession, what: str, **changes: Any
    ) -> None:
        self.audit(
            actor,
            Action.UPDATE,
            "treatmentsession",
            session.pk,
            session.patient_id,
            {"step": what, "state": session.state, **changes},
        )

    def open_session(self, actor: Actor, planned_id: int, chair: str) -> int:
        patient, plan_id, number = self.planned[planned_id]
        plan = patient.plans[plan_id]
        day = plan["sessions"][number][1]
        now = self.clock.at
        pk = self.w.insert(
            TreatmentSession,
            clinic_id=self.clinic.pk,
            patient_id=patient.pk,
            plan_id=plan_id,
            planned_id=planned_id,
            date=day,
            chair=chair.strip(),
            updated_at=now,
        )
        # The session as the actions see it, kept for the note at discharge: an unsaved
        # instance whose related rows are "prefetched" lists.
        session = TreatmentSession(
            pk=pk,
            clinic_id=self.clinic.pk,
            patient_id=patient.pk,
            plan=plan["model"],
            planned=PlannedSession(pk=planned_id, plan_id=plan_id, number=number, date=day),
            date=day,
            chair=chair.strip(),
        )
        session._prefetched_objects_cache = {
            "steps": [],
            "observations": [],
            "adverse_events": [],
            "alerts": [],
        }
        self.sessions[pk] = session
        self.audit(
            actor,
            Action.CREATE,
            "treatmentsession",
            pk,
            patient.pk,
            {"plan": plan_id, "number": number, "chair": chair.strip()},
        )
        return pk

    def _related(self, session: TreatmentSession, name: str) -> list[Any]:
        related: list[Any] = session._prefetched_objects_cache[name]
        return related

    def cancel_session(self, actor: Actor, session_id: int, reason: str) -> None:
        treatments.write_cancel(self.writes, actor, self.sessions.pop(session_id), reason)

    def check_in(self, actor: Actor, session_id: int, checklist: Checklist) -> None:
        treatments.write_check_in(self.writes, actor, self.sessions[session_id], checklist)

    def observe(self, actor: Actor, session_id: int, values: dict[str, Any]) -> list[int]:
        assert actor.user is not None
        session = self.sessions[session_id]
        vitals = vital_signs(values)
        now = self.clock.at
        pre_dose = session.state == TreatmentSession.State.CHECKED_IN
        protocol = get_protocol(session.plan.protocol_id)
        route = protocol.eligibility_route
        observations = self._related(session, "observations")
        gate: dict[str, Any] = {}
        if pre_dose:
            readings = treatments.pre_dose_readings(observations)
            state, gate = treatments.pre_dose_verdict(protocol, readings, Reading(now, vitals))
        phase = Observation.Phase.PRE_DOSE if pre_dose else Observation.Phase.MONITORING
        cadss = values.get("cadss")
        row = {
            "session_id": session_id,
            "phase": phase,
            "taken_at": now,
            "cadss": None if cadss in (None, "") else int(cadss),
            "gate": gate,
            "recorded_by_id": actor.user.pk,
            "recorded_at": now,
            **{name: vitals.value(name) for name in VITAL_FIELDS},
        }
        pk = self.w.insert(Observation, **row)
        observations.append(Observation(pk=pk, **row))
        created = []
        if pre_dose:
            self._save(session, **treatments.gate_fields(state, now))
        else:
            for hit in alerts(route, vitals):
                alert = {
                    "session_id": session_id,
                    "observation_id": pk,
                    "check_id": hit.check.id,
                    "message": hit.check.message,
                    "source": hit.check.source,
                    "values": hit.values,
                    "created_at": now,
                }
                alert_id = self.w.insert(SessionAlert, **alert)
                created.append(alert_id)
                self.session_alerts[alert_id] = SessionAlert(pk=alert_id, **alert)
                self._related(session, "alerts").append(self.session_alerts[alert_id])
            self._note_readiness(session, now)
        self._session_audit(
            actor, session, "observation", **treatments.observation_audit(vitals, gate)
        )
        return created

    def _note_readiness(self, session: TreatmentSession, now: datetime) -> None:
        ready_at = treatments.ready_at_after(session, now)
        if ready_at != session.ready_at:
            self._save(session, ready_at=ready_at)

    def override_gate(self, actor: Actor, session_id: int, reason: str) -> None:
        treatments.confirm_password(actor, self.password, prompt=treatments.GATE_OVERRIDE_SIGNATURE)
        assert actor.user is not None
        session = self.sessions[session_id]
        self._save(
            session,
            gate_override_by_id=actor.user.pk,
            gate_override_reason=reason.strip(),
            gate_override_at=self.clock.at,
        )
        self._session_audit(
            actor,
            session,
            "gate_override",
            checks=[f["id"] for f in session.gate_fired],
            reason=reason.strip(),
        )

    def start_dose(
        self, actor: Actor, session_id: int, supply: Supply, dose: Decimal | None, reason: str
    ) -> None:
        assert actor.user is not None
        session = self.sessions[session_id]
        protocol = get_protocol(session.plan.protocol_id)
        planned = Decimal(session.plan.dose_order["dose_mg"])
        given = planned if dose in (None, "") else Decimal(str(dose))
        treatments.check_bedside_dose(session, protocol, given)
        lot = self.lots[supply.lot_id]
        amount = Decimal(str(supply.units))
        entry_id, entry = self.ledger(
            actor,
            kind=LedgerEntry.Kind.DISPENSE,
            lot_id=lot.pk,
            from_location_id=supply.location_id,
            quantity_units=amount,
            quantity_mg=lot.product.mg(amount),
            patient_id=session.patient_id,
            plan_id=session.plan.pk,
            dose_mg=Decimal(str(given)),
            override_by_id=None,
            reason="",
        )
        now = self.clock.at
        values: dict[str, Any] = {
            "dose_mg": given,
            "dispense_id": entry_id,
            "dose_started_at": now,
            "state": TreatmentSession.State.DOSING,
        }
        if given != planned:
            values["dose_changed_by_id"] = actor.user.pk
            values["dose_change_reason"] = reason.strip()
        first = {"iv": DoseStep.Kind.INFUSION_START, "im": DoseStep.Kind.INJECTION}.get(
            protocol.route, DoseStep.Kind.DEVICE
        )
        rate = session.plan.dose_order.get("rate_ml_per_h") if protocol.route == "iv" else None
        self._step(session, actor, first, rate)
        per_device = Decimal(str(protocol.raw.get("mg_per_device", 1)))
        devices = int(as_stored(given, 2) / per_device)
        if protocol.route == "im" or (protocol.route == "intranasal" and devices == 1):
            values["dose_ended_at"] = now
            values["state"] = TreatmentSession.State.MONITORING
        self._save(session, **values)
        # As the next steps read them back from the database.
        session.dose_mg = as_stored(given, 2)
        entry.lot = lot
        entry.quantity_mg = as_stored(entry.quantity_mg, 2)
        entry.quantity_units = as_stored(entry.quantity_units, 2)
        # The note lists the dispense and its wastes, as the actions read them back.
        entry.actor = self.users[actor.user.pk]
        entry._prefetched_objects_cache = {"wastes": []}
        session.dispense = entry
        self.devices[session_id] = devices
        self._session_audit(actor, session, "dose_started", dose_mg=str(given), dispense=entry_id)

    def _step(
        self, session: TreatmentSession, actor: Actor, kind: str, rate: Any = None, note: str = ""
    ) -> None:
        assert actor.user is not None
        row = {
            "session_id": session.pk,
            "kind": kind,
            "at": self.clock.at,
            "rate_ml_per_h": None if rate is None else as_stored(rate, 1),
            "note": note,
            "recorded_by_id": actor.user.pk,
        }
        pk = self.w.insert(DoseStep, **row)
        step = DoseStep(pk=pk, **row)
        step.recorded_by = self.users[actor.user.pk]
        self._related(session, "steps").append(step)

    def give_device(self, actor: Actor, session_id: int) -> None:
        session = self.sessions[session_id]
        steps = self._related(session, "steps")
        given = sum(1 for s in steps if s.kind == DoseStep.Kind.DEVICE)
        self._step(session, actor, DoseStep.Kind.DEVICE)
        needed = self.devices[session_id]
        if given + 1 >= needed:
            self._save(
                session, dose_ended_at=self.clock.at, state=TreatmentSession.State.MONITORING
            )
        self._session_audit(actor, session, "device", number=given + 1, of=needed)

    def pump(self, actor: Actor, session_id: int, kind: str, note: str = "") -> None:
        session = self.sessions[session_id]
        self._step(session, actor, kind, None, note)
        if kind == DoseStep.Kind.INFUSION_END:
            self._save(
                session, dose_ended_at=self.clock.at, state=TreatmentSession.State.MONITORING
            )
        self._session_audit(actor, session, kind, rate=None, note=note)

    def adverse_event(
        self,
        actor: Actor,
        session_id: int,
        kind: str,
        severity: str,
        description: str,
        intervention: str,
    ) -> None:
        assert actor.user is not None
        session = self.sessions[session_id]
        now = self.clock.at
        row = {
            "session_id": session_id,
            "kind": kind,
            "severity": severity,
            "occurred_at": now,
            "description": description.strip(),
            "intervention": intervention.strip(),
            "recorded_by_id": actor.user.pk,
            "recorded_at": now,
        }
        pk = self.w.insert(AdverseEvent, **row)
        event = AdverseEvent(pk=pk, **row)
        self._related(session, "adverse_events").append(event)
        self._session_audit(
            actor, session, "adverse_event", **treatments.adverse_event_audit(event)
        )

    def acknowledge_alert(self, actor: Actor, alert_id: int, note: str) -> None:
        assert actor.user is not None
        alert = self.session_alerts.pop(alert_id)
        alert.acknowledged_by = self.users[actor.user.pk]
        alert.acknowledged_at = self.clock.at
        alert.acknowledgement_note = note.strip()
        self.w.update(
            SessionAlert,
            alert_id,
            acknowledged_by_id=actor.user.pk,
            acknowledged_at=alert.acknowledged_at,
            acknowledgement_note=alert.acknowledgement_note,
        )
        session = self.sessions[alert.session_id]
        if session.state == TreatmentSession.State.MONITORING:
            self._note_readiness(session, alert.acknowledged_at)
        self.audit(
            actor,
            Action.UPDATE,
            "sessionalert",
            alert_id,
            session.patient_id,
            {"acknowledged": alert.check_id, "note": alert.acknowledgement_note},
        )

    def discharge(self, actor: Actor, session_id: int, adult_present: bool) -> None:
        treatments.confirm_password(actor, self.password, prompt=treatments.DISCHARGE_SIGNATURE)
        assert actor.user is not None
        session = self.sessions.pop(session_id)
        self._related(session, "steps").sort(key=lambda s: (s.at, s.pk))
        self._related(session, "observations").sort(key=lambda o: (o.taken_at, o.pk))
        values = {
            "dissociation_resolved": True,
            "responsible_adult_present": adult_present,
            "discharged_at": self.clock.at,
            "discharged_by_id": actor.user.pk,
            "state": TreatmentSession.State.DISCHARGED,
        }
        for name, value in values.items():
            setattr(session, name, value)
        session.discharged_by = self.users[actor.user.pk]
        values["ready_at"] = session.ready_at = treatments.ready_at_discharge(session)
        note = session_note(session)
        self._save(session, **values, note=note)
        self._session_audit(actor, session, "discharge", note=note)
        if session.plan.protocol_id.startswith("esketamine"):  # its REMS form follows
            self.discharged[session_id] = session.patient_id
        self.devices.pop(session_id, None)

    def rems(self, actor: Actor, session_id: int, reference: str) -> None:
        assert actor.user is not None
        patient_id = self.discharged.pop(session_id)
        pk = self.w.insert(
            RemsSubmission,
            session_id=session_id,
            submitted_at=self.clock.at,
            submitted_by_id=actor.user.pk,
            reference=reference.strip(),
        )
        self.audit(
            actor,
            Action.CREATE,
            "remssubmission",
            pk,
            patient_id,
            {"session": session_id, "reference": reference.strip()},
        )
