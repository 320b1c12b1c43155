"""The database side of the bulk path: rows held per table and written in batches with
``executemany``, audit events numbered and hashed on their clinic's chain in the order they
come, and the chain and ledger heads as the actions would have left them."""

import json
import time as wallclock
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction

from ketacare.accounts.models import Clinic
from ketacare.audit import checkpoints
from ketacare.audit.chain import event_digest, json_safe
from ketacare.audit.models import AuditEvent, ChainHead
from ketacare.audit.record import chain_head
from ketacare.dev.synth.params import SynthError
from ketacare.inventory.chain import ledger_head
from ketacare.inventory.models import (
    CountLine,
    LedgerEntry,
    Lot,
    PhysicalCount,
    Registration,
    StockBalance,
)
from ketacare.measures.models import PatientLink, QuestionnaireResponse, SafetyAlert
from ketacare.patients.models import BodyMeasurement, ConsentRecord, Patient
from ketacare.planning.models import EligibilityOverride, Evaluation, PlannedSession, TreatmentPlan
from ketacare.treatments.models import (
    AdverseEvent,
    DoseStep,
    Observation,
    RemsSubmission,
    SessionAlert,
    TreatmentSession,
)

# Fields whose Python value needs the database's preparation (dates, decimals, JSON, addresses).
_PREPARED = (
    models.DateTimeField,
    models.DateField,
    models.DecimalField,
    models.JSONField,
    models.GenericIPAddressField,
)


class _Table:
    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields]
        self.name = model._meta.db_table
        quote = connection.ops.quote_name
        columns = ", ".join(quote(column_of(f)) for f in self.fields)
        marks = ", ".join(["%s"] * len(self.fields))
        # Names from the models' own metadata, quoted; values are parameters.
        self.insert_sql = f"INSERT INTO {quote(self.name)} ({columns}) VALUES ({marks})"  # noqa: S608
        self.rows: list[dict[str, Any]] = []
        self.pending: dict[int, dict[str, Any]] = {}
        self.updates: dict[int, dict[str, Any]] = {}
        self.next_id = 0
        self.max_id = 0
        self.columns = [(f.attname, f, _preparer(f)) for f in self.fields]

    def prepare(self, row: dict[str, Any]) -> tuple[Any, ...]:
        values = []
        for name, f, prepare in self.columns:
            value = row[name] if name in row else f.get_default()
            if prepare is not None and value is not None:
                value = prepare(value)
            values.append(value)
        return tuple(values)


def column_of(f: "models.Field[Any, Any]") -> str:
    """A concrete field's column (every field written here is concrete: it has one)."""
    assert f.column is not None
    return f.column


def _preparer(f: "models.Field[Any, Any]") -> Callable[[Any], Any] | None:
    """How a value of ``f`` goes to the database: Django's own preparation, except the two
    most frequent on SQLite, done as it does them without its per-value lookups (timestamps
    as naive text in the connection's time zone; JSON as ``json.dumps``)."""
    if not isinstance(f, _PREPARED):
        return None
    # The wrapper itself, not the thread-local proxy: asked once per value otherwise.
    wrapper = connections[DEFAULT_DB_ALIAS]
    if wrapper.vendor == "sqlite" and settings.USE_TZ:
        if isinstance(f, models.DateTimeField):
            zone = wrapper.timezone

            def naive(value: datetime) -> str:
                return str(value.astimezone(zone).replace(tzinfo=None))

            return naive
        if isinstance(f, models.JSONField) and f.encoder is None:
            return json.dumps
    return partial(f.get_db_prep_save, connection=wrapper)


# What the bulk path writes, apart from audit events (the writer numbers those itself).
BULK_MODELS: tuple[type[models.Model], ...] = (
    Patient, BodyMeasurement, ConsentRecord, QuestionnaireResponse, SafetyAlert, PatientLink,
    Evaluation, EligibilityOverride, TreatmentPlan, PlannedSession, TreatmentSession,
    Observation, SessionAlert, DoseStep, AdverseEvent, RemsSubmission, Lot, LedgerEntry,
    StockBalance, PhysicalCount, CountLine,
)  # fmt: skip
FLUSH_ROWS = 50_000  # rows held before a batch is written
SEND_MESSAGES = 20_000  # rows and updates held before they go to the writer process


@dataclass(frozen=True)
class Heads:
    """The chain heads and counters the actions keep up to date as they go."""

    registration_id: int
    sequence: int
    ledger_hash: str
    clinic_id: int
    mrn_counter: int


class Writer:
    """The database side of the bulk path: rows held in memory and written in batches, audit
    events numbered and hashed on the chain in the order they come."""

    def __init__(self) -> None:
        self.tables: dict[type[models.Model], _Table] = {}
        self.buffered = 0
        self.seconds = 0.0
        self.event_id = next_free_id(AuditEvent._meta.db_table)
        # The audit chains written to, by clinic id (None: the installation's), as
        # [head pk, chain name, last event id, last hash, event count].
        self.chains: dict[int | None, list[Any]] = {}
        self.touched: set[int | None] = set()

    def table(self, model: type[models.Model]) -> _Table:
        table = self.tables.get(model)
        if table is None:
            table = self.tables[model] = _Table(model)
        return table

    def insert(self, model: type[models.Model], pk: int, row: dict[str, Any]) -> None:
        table = self.table(model)
        row["id"] = pk
        table.max_id = max(table.max_id, pk)
        table.rows.append(row)
        table.pending[pk] = row
        self.buffered += 1

    def update(self, model: type[models.Model], pk: int, values: dict[str, Any]) -> None:
        table = self.table(model)
        row = table.pending.get(pk)
        if row is not None:
            row.update(values)
        else:
            table.updates.setdefault(pk, {}).update(values)

    def audit(self, content: dict[str, Any]) -> None:
        """What ``audit.record.record`` appends: the event hashed on the chain."""
        content["changes"] = json_safe(content["changes"])
        clinic_id = content["clinic_id"]
        chain = self.chains.get(clinic_id)
        if chain is None:
            head = chain_head(clinic_id, lock=False)
            chain = [head.pk, head.name, head.last_event_id, head.last_hash, head.event_count]
            self.chains[clinic_id] = chain
        prev_hash = chain[3]
        digest = event_digest(content, prev_hash)
        pk = self.event_id
        self.event_id += 1
        self.insert(AuditEvent, pk, {**content, "prev_hash": prev_hash, "hash": digest})
        chain[2], chain[3] = pk, digest
        chain[4] += 1
        self.touched.add(clinic_id)

    def apply(self, messages: list[tuple[Any, ...]]) -> None:
        for message in messages:
            kind = message[0]
            if kind == "i":
                self.insert(message[1], message[2], message[3])
            elif kind == "u":
                self.update(message[1], message[2], message[3])
            else:
                self.audit(message[1])

    def flush(self) -> None:
        began = wallclock.perf_counter()
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for table in self.tables.values():
                if table.rows:
                    cursor.executemany(table.insert_sql, [table.prepare(r) for r in table.rows])
                table.rows, table.pending = [], {}
            for table in self.tables.values():
                groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
                by_name = {f.attname: f for f in table.fields}
                for pk, values in table.updates.items():
                    names = tuple(sorted(values))
                    prepared = []
                    for name in names:
                        value, f = values[name], by_name[name]
                        if value is not None and isinstance(f, _PREPARED):
                            value = f.get_db_prep_save(value, connection)
                        prepared.append(value)
                    groups[names].append((*prepared, pk))
                for names, rows in groups.items():
                    sets = ", ".join(f"{quote(column_of(by_name[n]))} = %s" for n in names)
                    cursor.executemany(
                        f"UPDATE {quote(table.name)} SET {sets} WHERE {quote('id')} = %s",  # noqa: S608
                        rows,
                    )
                table.updates = {}
        self.buffered = 0
        self.seconds += wallclock.perf_counter() - began

    def write(self, heads: Heads) -> None:
        """One transaction: the batch, and the heads as the actions would have left them."""
        with transaction.atomic():
            self.flush()
            written = []
            for clinic_id in sorted(self.touched, key=lambda c: c or 0):
                pk, name, last_event_id, last_hash, count = self.chains[clinic_id]
                ChainHead.objects.filter(pk=pk).update(
                    last_event_id=last_event_id, last_hash=last_hash, event_count=count
                )
                written.append(checkpoints.Head(name, last_event_id, count, last_hash))
            self.touched = set()
            Registration.objects.filter(pk=heads.registration_id).update(
                last_sequence=heads.sequence, last_hash=heads.ledger_hash
            )
            Clinic.objects.filter(pk=heads.clinic_id).update(mrn_counter=heads.mrn_counter)
            # Each batch is checkpointed once it commits, as record() and the ledger's
            # actions checkpoint every so many writes.
            checkpoints.append_on_commit(checkpoints.AUDIT_LOG, written)
            if heads.sequence:
                checkpoints.append_on_commit(
                    checkpoints.LEDGER_LOG,
                    [
                        ledger_head(
                            Registration(
                                pk=heads.registration_id,
                                last_sequence=heads.sequence,
                                last_hash=heads.ledger_hash,
                            )
                        )
                    ],
                )

    def finish(self, heads: Heads) -> None:
        """The last batch; then PostgreSQL's sequences continue after the ids used."""
        self.write(heads)
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for table in self.tables.values():
                if table.max_id:
                    cursor.execute(
                        "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                        [table.name, table.max_id],
                    )


def next_free_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(table)}")  # noqa: S608
        highest = cursor.fetchone()[0] or 0
        if connection.vendor == "sqlite":
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            highest = max(highest, row[0] if row else 0)
        elif connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])  # identity or serial
            sequence = cursor.fetchone()[0]
            cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608
            last, called = cursor.fetchone()
            highest = max(highest, last if called else last - 1)
        else:
            raise SynthError(
                f"The bulk path supports SQLite and PostgreSQL, not {connection.vendor}."
            )
    return int(highest) + 1
