"""The operations: what a step does to the database, one method per step (``Ops``).
``ActionOps`` calls the app's actions (the reference); ``bulk.BulkOps`` writes the rows they
write."""

import typing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ketacare.actor import Actor
from ketacare.clinical.session import VitalSigns
from ketacare.dev.synth.clock import Clock
from ketacare.dev.synth.people import TOWN
from ketacare.dev.synth.setup import StockSetup
from ketacare.inventory import actions as inventory
from ketacare.inventory.actions import Counted, Signature
from ketacare.inventory.models import Product
from ketacare.measures import actions as measures
from ketacare.measures import links
from ketacare.measures.models import PatientLink, SafetyAlert
from ketacare.outbox import DISCARD
from ketacare.patients import actions as patients
from ketacare.patients.models import ConsentRecord, Patient
from ketacare.planning import actions as planning
from ketacare.planning.actions import PlanRequest
from ketacare.treatments import actions as treatments
from ketacare.treatments.actions import VITAL_FIELDS, Checklist, Supply
from ketacare.treatments.models import SessionAlert, TreatmentSession
from ketacare.treatments.rems_actions import record_rems_submission


def vital_signs(values: dict[str, Any]) -> VitalSigns:
    """The vital signs of a step's observation, as the clinical checks read them."""
    return VitalSigns(**{name: values.get(name) for name in VITAL_FIELDS})


@dataclass(frozen=True)
class Plan:
    """A signed plan, as the course reads it back to run its sessions."""

    pk: int
    protocol_id: str
    prescribed_dose: Decimal
    dose_order: dict[str, Any]
    sessions: list[tuple[int, int, date]]  # (planned session id, number, date)


class Ops(typing.Protocol):
    """One method per step; ``ActionOps`` calls the action, ``BulkOps`` writes its rows."""

    def create_patient(self, actor: Actor, data: dict[str, Any]) -> int: ...
    def measure(self, actor: Actor, patient_id: int, day: date, weight: Decimal) -> None: ...
    def consent(self, actor: Actor, patient_id: int, kind: str) -> None: ...
    def staff_response(
        self, actor: Actor, patient_id: int, instrument: str, answers: list[int], sex: str | None
    ) -> None: ...
    def acknowledge_safety(self, actor: Actor, patient_id: int, note: str) -> None: ...
    def send_link(self, actor: Actor, patient_id: int, instrument: str) -> int: ...
    def remind(self, actor: Actor, link_id: int) -> None: ...
    def answer_link(self, link_id: int, answers: list[int]) -> None: ...
    def start_evaluation(self, actor: Actor, patient_id: int, answers: dict[str, Any]) -> int: ...
    def complete_evaluation(self, actor: Actor, evaluation_id: int) -> None: ...
    def sign_evaluation(self, actor: Actor, evaluation_id: int) -> dict[str, Any]: ...
    def override_eligibility(
        self, actor: Actor, evaluation_id: int, route: str, reason: str
    ) -> None: ...
    def plan(self, actor: Actor, evaluation_id: int, request: PlanRequest) -> Plan: ...
    def reschedule(
        self, actor: Actor, plan_id: int, number: int, new: date
    ) -> dict[int, tuple[date, date]]: ...
    def open_session(self, actor: Actor, planned_id: int, chair: str) -> int: ...
    def cancel_session(self, actor: Actor, session_id: int, reason: str) -> None: ...
    def check_in(self, actor: Actor, session_id: int, checklist: Checklist) -> None: ...
    def observe(self, actor: Actor, session_id: int, values: dict[str, Any]) -> list[int]: ...
    def override_gate(self, actor: Actor, session_id: int, reason: str) -> None: ...
    def start_dose(
        self, actor: Actor, session_id: int, supply: Supply, dose: Decimal | None, reason: str
    ) -> None: ...
    def give_device(self, actor: Actor, session_id: int) -> None: ...
    def pump(self, actor: Actor, session_id: int, kind: str, note: str = "") -> None: ...
    def adverse_event(
        self, actor: Actor, session_id: int, kind: str, severity: str, description: str,
        intervention: str,
    ) -> None: ...  # fmt: skip
    def acknowledge_alert(self, actor: Actor, alert_id: int, note: str) -> None: ...
    def waste(self, actor: Actor, session_id: int, witness: Signature) -> None: ...
    def discharge(self, actor: Actor, session_id: int, adult_present: bool) -> None: ...
    def rems(self, actor: Actor, session_id: int, reference: str) -> None: ...
    def receive(
        self, actor: Actor, product: Product, lot_number: str, expires_on: date, units: Decimal,
        invoice: str,
    ) -> int: ...  # fmt: skip
    def count(self, actor: Actor, lines: list[Counted], note: str) -> None: ...
    def forget(self, patient_id: int) -> None: ...
    def checkpoint(self) -> None: ...
    def finish(self) -> None: ...


class ActionOps:
    """Every step through the app's actions: the reference."""

    def __init__(self, stock: StockSetup, password: str, clock: Clock) -> None:
        # The patients answer their links at the program's clock, as the staff act.
        self.stock, self.password, self.clock = stock, password, clock
        self.patients: dict[int, Patient] = {}
        self.links: dict[int, PatientLink] = {}

    def create_patient(self, actor: Actor, data: dict[str, Any]) -> int:
        try:
            patient = patients.create_patient(actor, data)
        except patients.LikelyDuplicates as found:
            # Two synthetic people may share a name and a birth date: the coordinator looks
            # and confirms that this is someone else.
            confirmed = [d.patient.pk for d in found.duplicates]
            patient = patients.create_patient(actor, data, confirmed_duplicates=confirmed)
        self.patients[patient.pk] = patient
        return patient.pk

    def measure(self, actor: Actor, patient_id: int, day: date, weight: Decimal) -> None:
        patients.record_measurement(actor, self.patients[patient_id], day, weight, None)

    def consent(self, actor: Actor, patient_id: int, kind: str) -> None:
        patient = self.patients[patient_id]
        patients.record_consent(
            actor, patient, consent_fields(kind, patient.full_name, actor.now())
        )

    def staff_response(
        self, actor: Actor, patient_id: int, instrument: str, answers: list[int], sex: str | None
    ) -> None:
        measures.record_staff_response(
            actor, self.patients[patient_id], instrument, answers, actor.now(), sex=sex
        )

    def acknowledge_safety(self, actor: Actor, patient_id: int, note: str) -> None:
        for alert in SafetyAlert.objects.filter(
            patient_id=patient_id, acknowledged_at__isnull=True
        ).order_by("pk"):
            measures.acknowledge_alert(actor, alert, note)

    def send_link(self, actor: Actor, patient_id: int, instrument: str) -> int:
        link, _ = measures.create_link(
            actor, self.patients[patient_id], instrument, PatientLink.Channel.SMS
        )
        self.links[link.pk] = link
        return link.pk

    def remind(self, actor: Actor, link_id: int) -> None:
        measures.send_reminder(actor, self.links[link_id])

    def answer_link(self, link_id: int, answers: list[int]) -> None:
        link = self.links.pop(link_id)
        measures.submit_link_response(
            links.token_for(link.public_id), answers, None, clock=self.clock, outbox=DISCARD
        )

    def start_evaluation(self, actor: Actor, patient_id: int, answers: dict[str, Any]) -> int:
        return planning.start_evaluation(actor, self.patients[patient_id], answers, "").pk

    def complete_evaluation(self, actor: Actor, evaluation_id: int) -> None:
        planning.complete_evaluation(actor, evaluation_id)

    def sign_evaluation(self, actor: Actor, evaluation_id: int) -> dict[str, Any]:
        verdicts: dict[str, Any] = planning.sign_evaluation(
            actor, evaluation_id, self.password
        ).verdicts
        return verdicts

    def override_eligibility(
        self, actor: Actor, evaluation_id: int, route: str, reason: str
    ) -> None:
        planning.override_eligibility(actor, evaluation_id, route, reason, self.password)

    def plan(self, actor: Actor, evaluation_id: int, request: PlanRequest) -> Plan:
        plan = planning.draft_plan(actor, evaluation_id, request)
        plan = planning.sign_plan(actor, plan.pk, self.password)
        sessions = list(plan.sessions.order_by("number").values_list("pk", "number", "date"))
        plan.refresh_from_db()
        return Plan(plan.pk, plan.protocol_id, plan.prescribed_dose, plan.dose_order, sessions)

    def reschedule(
        self, actor: Actor, plan_id: int, number: int, new: date
    ) -> dict[int, tuple[date, date]]:
        moves = planning.reschedule_session(actor, plan_id, number, new)
        return {int(key.split()[-1]): (m["old"], m["new"]) for key, m in moves.items()}

    def open_session(self, actor: Actor, planned_id: int, chair: str) -> int:
        return treatments.open_session(actor, planned_id, chair).pk

    def cancel_session(self, actor: Actor, session_id: int, reason: str) -> None:
        treatments.cancel_session(actor, session_id, reason)

    def check_in(self, actor: Actor, session_id: int, checklist: Checklist) -> None:
        treatments.check_in(actor, session_id, checklist)

    def observe(self, actor: Actor, session_id: int, values: dict[str, Any]) -> list[int]:
        observation = treatments.record_observation(actor, session_id, values)
        return list(
            SessionAlert.objects.filter(observation=observation)
            .order_by("pk")
            .values_list("pk", flat=True)
        )

    def override_gate(self, actor: Actor, session_id: int, reason: str) -> None:
        treatments.override_gate(actor, session_id, reason, self.password)

    def start_dose(
        self, actor: Actor, session_id: int, supply: Supply, dose: Decimal | None, reason: str
    ) -> None:
        treatments.start_dose(actor, session_id, supply, dose_mg=dose, change_reason=reason)

    def give_device(self, actor: Actor, session_id: int) -> None:
        treatments.give_device(actor, session_id)

    def pump(self, actor: Actor, session_id: int, kind: str, note: str = "") -> None:
        treatments.infusion_step(actor, session_id, kind, note=note)

    def adverse_event(
        self,
        actor: Actor,
        session_id: int,
        kind: str,
        severity: str,
        description: str,
        intervention: str,
    ) -> None:
        treatments.record_adverse_event(
            actor, session_id, kind, severity, description=description, intervention=intervention
        )

    def acknowledge_alert(self, actor: Actor, alert_id: int, note: str) -> None:
        treatments.acknowledge_alert(actor, alert_id, note)

    def waste(self, actor: Actor, session_id: int, witness: Signature) -> None:
        session = TreatmentSession.objects.select_related("dispense__lot__product").get(
            pk=session_id
        )
        entry = session.dispense
        assert entry is not None
        leftover = entry.quantity_mg - (session.dose_mg or 0)
        if leftover > 0:
            inventory.waste(
                actor,
                self.stock.registration_id,
                dispense_id=entry.pk,
                units=(leftover / entry.lot.product.mg_per_unit).quantize(Decimal("0.01")),
                reason=WASTE_REASON,
                witness=witness,
            )

    def discharge(self, actor: Actor, session_id: int, adult_present: bool) -> None:
        treatments.discharge(
            actor,
            session_id,
            dissociation_resolved=True,
            responsible_adult_present=adult_present,
            password=self.password,
        )

    def rems(self, actor: Actor, session_id: int, reference: str) -> None:
        record_rems_submission(actor, session_id, reference)

    def receive(
        self,
        actor: Actor,
        product: Product,
        lot_number: str,
        expires_on: date,
        units: Decimal,
        invoice: str,
    ) -> int:
        entry = inventory.receive(
            actor,
            self.stock.registration_id,
            product_id=product.pk,
            lot_number=lot_number,
            expires_on=expires_on,
            location_id=self.stock.location_id,
            units=units,
            supplier=SUPPLIER,
            invoice=invoice,
        )
        return entry.lot_id

    def count(self, actor: Actor, lines: list[Counted], note: str) -> None:
        inventory.record_count(
            actor, self.stock.registration_id, kind="ad_hoc", lines=lines, note=note
        )

    def forget(self, patient_id: int) -> None:
        self.patients.pop(patient_id, None)
        for link_id in [pk for pk, link in self.links.items() if link.patient_id == patient_id]:
            del self.links[link_id]  # unanswered: expired

    def checkpoint(self) -> None:
        return None

    def finish(self) -> None:
        return None


CONSENT_VERSION = "2026-01"
WASTE_REASON = "Remainder of a single-use vial, drawn into the sharps container."
SUPPLIER = f"{TOWN} Specialty Pharmacy"


def consent_fields(kind: str, signed_by: str, now: datetime) -> dict[str, Any]:
    """A consent granted, signed by the patient ``now``: the fields both paths record."""
    return {
        "kind": kind,
        "decision": ConsentRecord.Decision.GRANTED,
        "version": CONSENT_VERSION,
        "signed_at": now,
        "signed_by": signed_by,
    }
