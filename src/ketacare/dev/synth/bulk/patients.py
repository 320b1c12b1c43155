"""What ``patients.actions`` writes: a registered patient with the first measurement, later
measurements, and consents."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ketacare.actor import Actor
from ketacare.dev.synth.bulk.base import BulkBase, BulkPatient, as_stored
from ketacare.dev.synth.clock import Clock
from ketacare.dev.synth.ops import consent_fields
from ketacare.dev.synth.setup import Staff, StockSetup
from ketacare.dev.synth.sinks import LocalSink, PipeSink
from ketacare.patients import actions as patients
from ketacare.patients.models import DEMOGRAPHIC_FIELDS
from ketacare.patients.mrn import format_mrn
from ketacare.patients.search import normalize_name


class PatientsOps(BulkBase):
    """Registration, measurements and consents as rows (``patients.actions``)."""

    def __init__(
        self, stock: StockSetup, staff: Staff, clock: Clock, sink: LocalSink | PipeSink
    ) -> None:
        super().__init__(stock, staff, clock, sink)
        # Patients by name (either order) and birth date: the likely duplicates of the next.
        self.namesakes: dict[tuple[frozenset[str], date], list[tuple[str, str, int, str]]] = {}

    def create_patient(self, actor: Actor, data: dict[str, Any]) -> int:
        fields = {name: data[name] for name in DEMOGRAPHIC_FIELDS if name in data}
        self.mrn_counter += 1
        mrn = format_mrn(self.mrn_counter)
        family, given = normalize_name(fields["family_name"]), normalize_name(fields["given_name"])
        # What patients.search.likely_duplicates finds (phones and emails are unique here):
        # the same name, in either order, and birth date, in its order.
        namesakes = self.namesakes.setdefault(
            (frozenset((family, given)), fields["date_of_birth"]), []
        )
        duplicates = [found_mrn for *_, found_mrn in sorted(namesakes)]
        patient = patients.write_create_patient(self.writes, actor, mrn, data, duplicates)
        pk = patient.pk
        self.patients[pk] = BulkPatient(pk, patient, patient.full_name)
        namesakes.append((family, given, pk, mrn))
        if data.get("weight_kg") is not None:
            self._remember_measurement(
                pk,
                data.get("measured_on") or actor.today(),
                actor.now(),
                data["weight_kg"],
                data.get("height_cm"),
            )
        return pk

    def _remember_measurement(
        self, patient_id: int, day: date, at: datetime, weight: Decimal, height: Decimal | None
    ) -> None:
        """The measurement as the steps read it back (the latest weight and height)."""
        self.patients[patient_id].measurements.append(
            (day, at, as_stored(weight, 1), None if height is None else as_stored(height, 1))
        )

    def measure(self, actor: Actor, patient_id: int, day: date, weight: Decimal) -> None:
        patient = self.patients[patient_id]
        patients.write_measurement(self.writes, actor, patient.model, day, weight, None)
        self._remember_measurement(patient_id, day, actor.now(), weight, None)

    def consent(self, actor: Actor, patient_id: int, kind: str) -> None:
        patient = self.patients[patient_id]
        data = consent_fields(kind, patient.full_name, actor.now())
        patients.write_consent(self.writes, actor, patient.model, data)
