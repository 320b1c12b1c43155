"""What the bulk path's steps share: the patients as the steps remember them
(``BulkPatient``), and the state, audit and ledger chains every domain writes to
(``BulkBase``)."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db import models

from ketacare.actor import Actor
from ketacare.audit.models import AuditEvent
from ketacare.dev.synth.clock import Clock
from ketacare.dev.synth.setup import Staff, StockSetup
from ketacare.dev.synth.sinks import LocalSink, PipeSink
from ketacare.dev.synth.writer import Heads
from ketacare.inventory import actions as inventory
from ketacare.inventory.models import LedgerEntry, Location, Lot, Registration, StockBalance
from ketacare.patients.models import Patient
from ketacare.treatments.models import TreatmentSession


def as_stored(value: Any, places: int) -> Decimal:
    """A decimal as the database gives it back (quantized to the column's places)."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places))


@dataclass
class BulkPatient:
    pk: int
    model: Patient  # unsaved: what the clinical functions read (birth date, sex, clinic)
    full_name: str
    measurements: list[tuple[date, datetime, Decimal, Decimal | None]] = field(default_factory=list)
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)  # instrument → response
    open_alerts: list[int] = field(default_factory=list)
    evaluations: dict[int, dict[str, Any]] = field(default_factory=dict)
    plans: dict[int, dict[str, Any]] = field(default_factory=dict)
    links: dict[int, dict[str, Any]] = field(default_factory=dict)

    def latest_measurement(self) -> tuple[date, datetime, Decimal, Decimal | None]:
        return max(self.measurements, key=lambda m: (m[0], m[1]))

    def height(self) -> Decimal | None:
        ordered = sorted(self.measurements, key=lambda m: (m[0], m[1]), reverse=True)
        return next((m[3] for m in ordered if m[3]), None)


M = TypeVar("M", bound=models.Model)


class BulkWrites:
    """``ketacare.writes.Writes`` for the bulk path: the rows an action builds go to the
    sink (ids as the database would give them), its audit events to the writer's chain."""

    def __init__(self, ops: "BulkBase") -> None:
        self.ops = ops

    def add(self, obj: M) -> M:
        model = type(obj)
        row = {
            f.attname: getattr(obj, f.attname)
            for f in model._meta.concrete_fields
            if not f.primary_key
        }
        obj.pk = self.ops.w.insert(model, **row)
        obj._state.adding = False
        return obj

    def save(self, obj: models.Model, *fields: str) -> None:
        meta = obj._meta
        # Concrete fields only (an action saves columns), so each has an attname.
        attnames = [meta.get_field(name).attname for name in fields]  # type: ignore[union-attr]
        values = {attname: getattr(obj, attname) for attname in attnames}
        self.ops.w.update(type(obj), obj.pk, **values)

    def record(
        self,
        actor: Actor,
        action: str,
        *,
        obj: models.Model | None = None,
        object_type: str = "",
        patient: Any = None,
        changes: dict[str, Any] | None = None,
        clinic: Any = None,
    ) -> None:
        self.ops.audit(
            actor,
            action,
            object_type or (obj._meta.model_name if obj is not None else "") or "",
            obj.pk if obj is not None else "",
            getattr(patient, "pk", patient),
            changes or {},
            clinic_id=clinic.pk if clinic is not None else None,
        )


class BulkBase:
    """What the steps of every domain share: the clinic and its staff, the sink the rows go
    to, the two hash chains (audit log and ledger) with their heads, and what the steps
    remember between them (patients, plans' sessions, open sessions, lots and balances).
    What only one domain's steps remember is set up in that domain's class."""

    def __init__(
        self, stock: StockSetup, staff: Staff, clock: Clock, sink: LocalSink | PipeSink
    ) -> None:
        self.stock, self.clinic, self.clock = stock, staff.clinic, clock
        # Every signature is checked as the action checks it (accounts.reauth): one rule.
        self.password = staff.password
        clinic = self.clinic
        self.users = {
            a.user.pk: a.user for actors in staff.by_role.values() for a in actors if a.user
        }
        self.w = sink
        # The ledger's head, kept here as the actions keep it on the locked row.
        self.registration = Registration.objects.get(pk=stock.registration_id)
        clinic.refresh_from_db()
        self.mrn_counter = clinic.mrn_counter
        self.patients: dict[int, BulkPatient] = {}
        self.sessions: dict[int, TreatmentSession] = {}  # open, until discharge or cancel
        self.planned: dict[int, tuple[BulkPatient, int, int]] = {}  # → patient, plan, number
        self.owners: dict[tuple[str, int], BulkPatient] = {}  # ("plan", id) → its patient
        self.lots: dict[int, Lot] = {
            lot.pk: lot
            for lot in Lot.objects.filter(registration_id=stock.registration_id).select_related(
                "product"
            )
        }
        self.locations = Location.objects.filter(registration_id=stock.registration_id).in_bulk()
        self.balances: inventory.Balances = {
            (b.lot_id, b.location_id): b
            for b in StockBalance.objects.filter(lot__registration_id=stock.registration_id)
        }
        self.ip = AuditEvent._meta.get_field("ip").get_prep_value("127.0.0.1")
        # What the actions' shared builders write through (ketacare.writes).
        self.writes = BulkWrites(self)

    # --- the two chains ---------------------------------------------------------------------

    def audit(
        self,
        actor: Actor,
        action: str,
        object_type: str,
        object_id: int | str,
        patient_id: int | None,
        changes: dict[str, Any],
        clinic_id: int | None = None,
    ) -> None:
        """What ``audit.record.record`` appends (the writer hashes it on the chain)."""
        self.w.audit(
            {
                "occurred_at": self.clock.at,
                "actor_id": actor.user.pk if actor.user is not None else None,
                "actor_username": actor.username,
                "role": actor.role,
                "clinic_id": clinic_id or (actor.clinic.pk if actor.clinic else None),
                "action": action,
                "object_type": object_type,
                "object_id": str(object_id),
                "patient_id": patient_id,
                "ip": self.ip if actor.ip else None,
                "changes": changes,
            }
        )

    def ledger(self, actor: Actor, **fields: Any) -> tuple[int, LedgerEntry]:
        """The entry ``inventory.actions`` appends (``write_entry``), at the chain's head and
        on the balances kept here; ``fields`` name the lot and locations by id."""
        fields["lot"] = self.lots[fields.pop("lot_id")]
        for end in ("from_location", "to_location"):
            location_id = fields.pop(f"{end}_id", None)
            if location_id is not None:
                fields[end] = self.locations[location_id]
        entry = inventory.write_entry(
            self.writes, actor, self.registration, self.balances, **fields
        )
        return entry.pk, entry

    # --- the run ----------------------------------------------------------------------------

    def forget(self, patient_id: int) -> None:
        patient = self.patients.pop(patient_id, None)
        if patient is not None:
            for plan_id, plan in patient.plans.items():
                self.owners.pop(("plan", plan_id), None)
                for planned_id, _ in plan["sessions"].values():
                    self.planned.pop(planned_id, None)
            for evaluation_id in patient.evaluations:
                self.owners.pop(("evaluation", evaluation_id), None)
            for link_id in patient.links:
                self.owners.pop(("link", link_id), None)

    def heads(self) -> Heads:
        return Heads(
            self.stock.registration_id,
            self.registration.last_sequence,
            self.registration.last_hash,
            self.clinic.pk,
            self.mrn_counter,
        )

    def checkpoint(self) -> None:
        self.w.checkpoint(self.heads())

    def finish(self) -> None:
        self.write_seconds = self.w.finish(self.heads())

    write_seconds = 0.0
