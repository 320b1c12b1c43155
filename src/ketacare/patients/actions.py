"""Every change to patient records. Each runs in one transaction with its audit event."""

from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.db.models import F

from ketacare.accounts.models import Clinic
from ketacare.actor import Actor
from ketacare.audit.record import Action, field_changes, record
from ketacare.bounds import check_date, check_datetime, check_decimal, digits_of
from ketacare.patients.models import DEMOGRAPHIC_FIELDS, BodyMeasurement, ConsentRecord, Patient
from ketacare.patients.mrn import format_mrn
from ketacare.patients.search import Duplicate, likely_duplicates, normalize_name
from ketacare.refusals import ActionRefused
from ketacare.writes import DATABASE, Writes


def _checked(value: Any, field: str, what: str) -> Decimal:
    """``value`` as the measurement's ``field`` column holds it; else OutOfBounds."""
    column = BodyMeasurement._meta.get_field(field)
    assert isinstance(column, models.DecimalField)
    max_digits, decimal_places = digits_of(column)
    return check_decimal(value, max_digits=max_digits, decimal_places=decimal_places, what=what)


def _next_mrn(clinic: Clinic) -> str:
    # The UPDATE takes the clinic row's lock, so concurrent registrations get distinct numbers.
    Clinic.objects.filter(pk=clinic.pk).update(mrn_counter=F("mrn_counter") + 1)
    sequence = Clinic.objects.values_list("mrn_counter", flat=True).get(pk=clinic.pk)
    return format_mrn(sequence)


class LikelyDuplicates(Exception):
    """The clinic may already have this patient; nothing was written. ``duplicates`` lists
    them, and registering anyway names their ids in ``confirmed_duplicates``."""

    def __init__(self, duplicates: list[Duplicate]) -> None:
        self.duplicates = duplicates
        super().__init__(
            "This patient may already be registered: "
            + "; ".join(
                f"{d.patient.full_name}, MRN {d.patient.mrn} ({', '.join(d.reasons)})"
                for d in duplicates
            )
            + ". Open their chart, or confirm that this is a different person."
        )


def find_duplicates(clinic: Clinic, data: dict[str, Any]) -> list[Duplicate]:
    """The clinic's patients who may be the one ``data`` describes (another clinic's never)."""
    return likely_duplicates(
        Patient.objects.filter(clinic=clinic),
        data["given_name"],
        data["family_name"],
        data["date_of_birth"],
        data.get("phone") or "",
        data.get("email") or "",
    )


@transaction.atomic
def create_patient(
    actor: Actor, data: dict[str, Any], confirmed_duplicates: Collection[int] = ()
) -> Patient:
    """Register a patient in the actor's clinic, with a first weight/height if given.

    A likely duplicate (same name and birth date, phone or email) refuses the registration
    with LikelyDuplicates unless each one found is in ``confirmed_duplicates``: the user saw
    them and says this is someone else."""
    assert actor.clinic is not None
    check_date(data["date_of_birth"], actor.today(), "Date of birth")
    duplicates = find_duplicates(actor.clinic, data)
    if any(d.patient.pk not in confirmed_duplicates for d in duplicates):
        raise LikelyDuplicates(duplicates)
    if data.get("weight_kg") is not None:
        # Checked before anything is written: a refused measurement refuses the registration.
        weight_kg, height_cm = _check_measurement(
            actor,
            data.get("measured_on") or actor.today(),
            data["weight_kg"],
            data.get("height_cm"),
        )
        data = {**data, "weight_kg": weight_kg, "height_cm": height_cm}
    return write_create_patient(
        DATABASE, actor, _next_mrn(actor.clinic), data, [d.patient.mrn for d in duplicates]
    )


def write_create_patient(
    writes: Writes, actor: Actor, mrn: str, data: dict[str, Any], duplicates: Sequence[str]
) -> Patient:
    """What registering a patient writes once its checks have passed: the patient numbered
    ``mrn`` in the actor's clinic, and its first measurement if ``data`` has a weight.
    ``duplicates`` are the MRNs of the likely duplicates the user confirmed are someone else."""
    assert actor.clinic is not None
    fields = {name: data[name] for name in DEMOGRAPHIC_FIELDS if name in data}
    now = actor.now()
    patient = Patient(clinic=actor.clinic, mrn=mrn, created_at=now, updated_at=now, **fields)
    # As Patient.save sets them: the writer stores the fields as they are.
    patient.search_family = normalize_name(patient.family_name)
    patient.search_given = normalize_name(patient.given_name)
    writes.add(patient)
    changes: dict[str, Any] = field_changes({}, {"mrn": patient.mrn, **fields})
    if duplicates:
        changes["confirmed_not_a_duplicate_of"] = list(duplicates)
    writes.record(actor, Action.CREATE, obj=patient, patient=patient, changes=changes)
    if data.get("weight_kg") is not None:
        write_measurement(
            writes,
            actor,
            patient,
            data.get("measured_on") or actor.today(),
            data["weight_kg"],
            data.get("height_cm"),
        )
    return patient


class EditConflict(ActionRefused):
    """The record changed since the form was opened; saving would overwrite that change."""


@transaction.atomic
def update_patient(
    actor: Actor, patient_id: int, data: dict[str, Any], opened_version: str
) -> dict[str, Any]:
    """Apply the edited demographic fields; returns the changes (empty: nothing was written).

    ``opened_version`` is the record's version when the form was opened; if someone saved in
    between, EditConflict is raised and nothing is written."""
    patient = Patient.objects.select_for_update().get(pk=patient_id)
    if patient.version != opened_version:
        raise EditConflict(
            "Someone else saved this record after you opened it. Your changes were not "
            "saved: reload the page to see theirs, then make your changes again."
        )
    before = {name: getattr(patient, name) for name in DEMOGRAPHIC_FIELDS}
    after = {name: data[name] for name in DEMOGRAPHIC_FIELDS if name in data}
    if "date_of_birth" in after:
        check_date(after["date_of_birth"], actor.today(), "Date of birth")
    changes = field_changes(before, after)
    if not changes:
        return {}
    for name in changes:
        setattr(patient, name, after[name])
    patient.updated_at = actor.now()  # a new version: an edit opened before now conflicts
    patient.save()
    record(actor, Action.UPDATE, obj=patient, patient=patient, changes=changes)
    return changes


@transaction.atomic
def record_measurement(
    actor: Actor,
    patient: Patient,
    measured_on: Any,
    weight_kg: Decimal,
    height_cm: Decimal | None,
) -> BodyMeasurement:
    """A weight (and height) on a day. Values the record cannot hold raise OutOfBounds."""
    weight_kg, height_cm = _check_measurement(actor, measured_on, weight_kg, height_cm)
    return write_measurement(DATABASE, actor, patient, measured_on, weight_kg, height_cm)


def _check_measurement(
    actor: Actor, measured_on: Any, weight_kg: Decimal, height_cm: Decimal | None
) -> tuple[Decimal, Decimal | None]:
    """The weight and height as the record holds them; OutOfBounds if it cannot."""
    check_date(measured_on, actor.today(), "The measurement date")
    weight_kg = _checked(weight_kg, "weight_kg", "The weight")
    if height_cm is not None:
        height_cm = _checked(height_cm, "height_cm", "The height")
    return weight_kg, height_cm


def write_measurement(
    writes: Writes,
    actor: Actor,
    patient: Patient,
    measured_on: Any,
    weight_kg: Decimal,
    height_cm: Decimal | None,
) -> BodyMeasurement:
    """What recording a measurement writes, once its values have been checked."""
    measurement = writes.add(
        BodyMeasurement(
            patient=patient,
            measured_on=measured_on,
            weight_kg=weight_kg,
            height_cm=height_cm,
            recorded_by=actor.user,
            recorded_at=actor.now(),
        )
    )
    writes.record(
        actor,
        Action.CREATE,
        obj=measurement,
        patient=patient,
        changes=field_changes(
            {}, {"measured_on": measured_on, "weight_kg": weight_kg, "height_cm": height_cm}
        ),
    )
    return measurement


@transaction.atomic
def record_consent(actor: Actor, patient: Patient, data: dict[str, Any]) -> ConsentRecord:
    check_datetime(data["signed_at"], actor.today(), "The signing date")
    return write_consent(DATABASE, actor, patient, data)


def write_consent(
    writes: Writes, actor: Actor, patient: Patient, data: dict[str, Any]
) -> ConsentRecord:
    """What recording a consent writes, once its signing date has been checked."""
    consent = writes.add(
        ConsentRecord(patient=patient, recorded_by=actor.user, recorded_at=actor.now(), **data)
    )
    writes.record(
        actor, Action.CREATE, obj=consent, patient=patient, changes=field_changes({}, data)
    )
    return consent
