"""What ``treatments.actions`` (and ``rems_actions``) write on the dosing day, through the
actions' own builders (``write_<step>``) with the bulk writer: the session opened or
cancelled, check-in, observations with the pre-dose gate and monitoring alerts, the gate
override, the dose (its dispense on the ledger), devices and pump steps, adverse events,
alerts acknowledged, discharge with its note, and the REMS form. What stays here is what the
actions read back from the database and the bulk path keeps in memory instead."""

from decimal import Decimal
from typing import Any

from django.db.models import Model

from ketacare.actor import Actor
from ketacare.clinical.session import Reading
from ketacare.dev.synth.bulk.base import BulkBase, as_stored
from ketacare.dev.synth.clock import Clock
from ketacare.dev.synth.ops import vital_signs
from ketacare.dev.synth.setup import Staff, StockSetup
from ketacare.dev.synth.sinks import LocalSink, PipeSink
from ketacare.inventory.models import LedgerEntry
from ketacare.planning.models import PlannedSession
from ketacare.treatments import actions as treatments
from ketacare.treatments.actions import Checklist, Supply
from ketacare.treatments.models import DoseStep, SessionAlert, TreatmentSession
from ketacare.treatments.rems_actions import write_rems_submission


def _related(session: TreatmentSession, name: str) -> list[Any]:
    """The session's related rows of ``name``, as the bulk path holds them."""
    related: list[Any] = vars(session)["_prefetched_objects_cache"][name]
    return related


def _prefetched(obj: Model, *names: str) -> None:
    """Give ``obj`` empty "prefetched" lists of its related rows ``names``: the builders add
    the new rows to them (``keep_related``), and the next steps read them from there."""
    vars(obj)["_prefetched_objects_cache"] = {name: [] for name in names}


class SessionDayOps(BulkBase):
    """The dosing day as rows (``treatments.actions``, ``treatments.rems_actions``)."""

    def __init__(
        self, stock: StockSetup, staff: Staff, clock: Clock, sink: LocalSink | PipeSink
    ) -> None:
        super().__init__(stock, staff, clock, sink)
        self.session_alerts: dict[int, SessionAlert] = {}  # until acknowledged
        self.discharged: dict[int, TreatmentSession] = {}  # until its REMS form

    def open_session(self, actor: Actor, planned_id: int, chair: str) -> int:
        patient, plan_id, number = self.planned[planned_id]
        plan = patient.plans[plan_id]
        model = plan["model"]
        model.patient_id = patient.pk
        planned = PlannedSession(
            pk=planned_id, plan=model, number=number, date=plan["sessions"][number][1]
        )
        session = treatments.write_open_session(self.writes, actor, planned, chair)
        # The session as the actions read it back, kept for the next steps and the note at
        # discharge: its related rows are "prefetched" lists the builders add to.
        _prefetched(session, "steps", "observations", "adverse_events", "alerts")
        self.sessions[session.pk] = session
        return session.pk

    def cancel_session(self, actor: Actor, session_id: int, reason: str) -> None:
        treatments.write_cancel(self.writes, actor, self.sessions.pop(session_id), reason)

    def check_in(self, actor: Actor, session_id: int, checklist: Checklist) -> None:
        treatments.write_check_in(self.writes, actor, self.sessions[session_id], checklist)

    def observe(self, actor: Actor, session_id: int, values: dict[str, Any]) -> list[int]:
        session = self.sessions[session_id]
        vitals = vital_signs(values)
        now = self.clock.at
        verdict = None
        if session.state == TreatmentSession.State.CHECKED_IN:
            readings = treatments.pre_dose_readings(_related(session, "observations"))
            verdict = treatments.pre_dose_verdict(
                treatments.protocol_of(session), readings, Reading(now, vitals)
            )
        cadss = values.get("cadss")
        _, raised = treatments.write_observation(
            self.writes,
            actor,
            session,
            vitals,
            cadss=None if cadss in (None, "") else int(cadss),
            taken_at=now,
            verdict=verdict,
        )
        for alert in raised:
            self.session_alerts[alert.pk] = alert
        return [alert.pk for alert in raised]

    def override_gate(self, actor: Actor, session_id: int, reason: str) -> None:
        treatments.confirm_password(actor, self.password, prompt=treatments.GATE_OVERRIDE_SIGNATURE)
        treatments.write_gate_override(self.writes, actor, self.sessions[session_id], reason)

    def start_dose(
        self, actor: Actor, session_id: int, supply: Supply, dose: Decimal | None, reason: str
    ) -> None:
        assert actor.user is not None
        session = self.sessions[session_id]
        protocol = treatments.protocol_of(session)
        planned = Decimal(session.plan.dose_order["dose_mg"])
        given = planned if dose in (None, "") else Decimal(str(dose))
        treatments.check_bedside_dose(session, protocol, given)
        lot = self.lots[supply.lot_id]
        amount = Decimal(str(supply.units))
        _, entry = self.ledger(
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
        # The dispense as the actions read it back: the note lists it and its wastes.
        entry.lot = lot
        entry.quantity_mg = as_stored(entry.quantity_mg, 2)
        entry.quantity_units = as_stored(entry.quantity_units, 2)
        entry.actor = self.users[actor.user.pk]
        _prefetched(entry, "wastes")
        treatments.write_start_dose(self.writes, actor, session, given, entry, reason)
        # As the next steps read them back from the database.
        session.dose_mg = as_stored(given, 2)
        first = _related(session, "steps")[-1]
        if first.rate_ml_per_h is not None:
            first.rate_ml_per_h = as_stored(first.rate_ml_per_h, 1)

    def give_device(self, actor: Actor, session_id: int) -> None:
        session = self.sessions[session_id]
        given = sum(1 for s in _related(session, "steps") if s.kind == DoseStep.Kind.DEVICE)
        treatments.write_device(self.writes, actor, session, given)

    def pump(self, actor: Actor, session_id: int, kind: str, note: str = "") -> None:
        treatments.write_infusion_step(
            self.writes, actor, self.sessions[session_id], kind, None, note
        )

    def adverse_event(
        self,
        actor: Actor,
        session_id: int,
        kind: str,
        severity: str,
        description: str,
        intervention: str,
    ) -> None:
        treatments.write_adverse_event(
            self.writes,
            actor,
            self.sessions[session_id],
            kind,
            severity,
            description=description,
            intervention=intervention,
        )

    def acknowledge_alert(self, actor: Actor, alert_id: int, note: str) -> None:
        alert = self.session_alerts.pop(alert_id)
        session = self.sessions[alert.session_id]
        treatments.write_acknowledgement(self.writes, actor, alert, session, note)

    def discharge(self, actor: Actor, session_id: int, adult_present: bool) -> None:
        treatments.confirm_password(actor, self.password, prompt=treatments.DISCHARGE_SIGNATURE)
        session = self.sessions.pop(session_id)
        # In the order the note reads them from the database.
        _related(session, "steps").sort(key=lambda s: (s.at, s.pk))
        _related(session, "observations").sort(key=lambda o: (o.taken_at, o.pk))
        treatments.write_discharge(
            self.writes,
            actor,
            session,
            dissociation_resolved=True,
            responsible_adult_present=adult_present,
        )
        if session.plan.protocol_id.startswith("esketamine"):  # its REMS form follows
            self.discharged[session_id] = session

    def rems(self, actor: Actor, session_id: int, reference: str) -> None:
        write_rems_submission(self.writes, actor, self.discharged.pop(session_id), reference)
