"""What ``patients.actions`` writes: a registered patient with the first measurement, later
measurements, and consents."""

from datetime import date
from decimal import Decimal
from typing import Any

from ketacare.accounts.access import Actor
from ketacare.audit.record import Action, field_changes
from ketacare.dev.synth.bulk.base import BulkBase, BulkPatient, as_stored
from ketacare.dev.synth.clock import Clock
from ketacare.dev.synth.ops import consent_fields
from ketacare.dev.synth.setup import Staff, StockSetup
from ketacare.dev.synth.sinks import LocalSink, PipeSink
from ketacare.patients.models import DEMOGRAPHIC_FIELDS, BodyMeasurement, ConsentRecord, Patient
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
        assert actor.clinic is not None
        now = self.clock.at
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
        pk = self.w.insert(
            Patient,
            clinic_id=actor.clinic.pk,
            mrn=mrn,
            search_family=family,
            search_given=given,
            created_at=now,
            updated_at=now,
            **fields,
        )
        model = Patient(
            pk=pk,
            clinic=self.clinic,
            date_of_birth=fields["date_of_birth"],
            sex_at_birth=fields["sex_at_birth"],
        )
        self.patients[pk] = BulkPatient(
            pk, model, f"{fields['given_name']} {fields['family_name']}"
        )
        namesakes.append((family, given, pk, mrn))
        changes = field_changes({}, {"mrn": mrn, **fields})
        if duplicates:
            changes["confirmed_not_a_duplicate_of"] = duplicates
        self.audit(actor, Action.CREATE, "patient", pk, pk, changes)
        self._measure(
            actor,
            pk,
            data.get("measured_on") or self.clock.today(),
            data["weight_kg"],
            data.get("height_cm"),
        )
        return pk

    def _measure(
        self, actor: Actor, patient_id: int, day: date, weight: Decimal, height: Decimal | None
    ) -> None:
        assert actor.user is not None
        now = self.clock.at
        pk = self.w.insert(
            BodyMeasurement,
            patient_id=patient_id,
            measured_on=day,
            weight_kg=weight,
            height_cm=height,
            recorded_by_id=actor.user.pk,
            recorded_at=now,
        )
        self.patients[patient_id].measurements.append(
            (day, now, as_stored(weight, 1), None if height is None else as_stored(height, 1))
        )
        self.audit(
            actor,
            Action.CREATE,
            "bodymeasurement",
            pk,
            patient_id,
            field_changes({}, {"measured_on": day, "weight_kg": weight, "height_cm": height}),
        )

    def measure(self, actor: Actor, patient_id: int, day: date, weight: Decimal) -> None:
        self._measure(actor, patient_id, day, weight, None)

    def consent(self, actor: Actor, patient_id: int, kind: str) -> None:
        assert actor.user is not None
        data = consent_fields(kind, self.patients[patient_id].full_name, actor.now())
        pk = self.w.insert(
            ConsentRecord,
            patient_id=patient_id,
            recorded_by_id=actor.user.pk,
            recorded_at=self.clock.at,
            **data,
        )
        self.audit(actor, Action.CREATE, "consentrecord", pk, patient_id, field_changes({}, data))
