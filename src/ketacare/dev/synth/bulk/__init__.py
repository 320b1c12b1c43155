"""The bulk path: the same steps as ``ops.ActionOps``, each written as the rows its action
writes — the same fields, the same audit ``changes``, the ids the database would give — to
batches a writer writes with ``executemany`` (``sinks``, ``writer``). One class per app whose
actions it stands in for, composed into ``BulkOps``; ``tests/registry/test_synth.py`` runs both
paths on the same seed and compares every table row for row, hashes included."""

from ketacare.dev.synth.bulk.measures import MeasuresOps
from ketacare.dev.synth.bulk.patients import PatientsOps
from ketacare.dev.synth.bulk.planning import PlanningOps
from ketacare.dev.synth.bulk.session_day import SessionDayOps
from ketacare.dev.synth.bulk.stock import StockOps


class BulkOps(PatientsOps, MeasuresOps, PlanningOps, SessionDayOps, StockOps):
    """The same steps as ``ActionOps``, written as the rows each action writes."""


__all__ = ["BulkOps"]
