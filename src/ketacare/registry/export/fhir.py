"""The de-identified cohort as FHIR R4 resources (Patient, Observation,
MedicationAdministration), pseudonymised, one NDJSON file per type."""

from collections import Counter
from typing import Any

from ketacare.clinical.instruments import get as get_instrument
from ketacare.clinical.protocols.library import get_protocol
from ketacare.measures.fhir import SURVEY, loinc_code
from ketacare.registry.dataset import Dataset
from ketacare.registry.export.dictionary import arrow_table

PSEUDONYMISED = {
    "security": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            "code": "PSEUDED",
            "display": "pseudonymized",
        }
    ]
}
BIRTH_SEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
BIRTH_SEX_CODE = {"female": "F", "male": "M"}  # intersex and unknown: UNK
SNOMED = "http://snomed.info/sct"
ROUTE_CODING = {
    "iv": {"system": SNOMED, "code": "47625008", "display": "Intravenous route"},
    "im": {"system": SNOMED, "code": "78421000", "display": "Intramuscular route"},
    "intranasal": {"system": SNOMED, "code": "46713006", "display": "Nasal route"},
}
DRUG_TEXT = {"racemic_ketamine": "Ketamine (racemic)", "esketamine": "Esketamine"}
UCUM = "http://unitsofmeasure.org"


def _subject(rid: str) -> dict[str, str]:
    return {"reference": f"Patient/{rid}"}


def fhir_resources(research: Dataset) -> dict[str, list[dict[str, Any]]]:
    """The de-identified cohort as FHIR R4 resources, by type (one NDJSON file per type)."""
    patients = []
    for row in arrow_table(research.patients, "patients").to_pylist():
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "id": row["research_id"],
            "meta": PSEUDONYMISED,
            "extension": [{"url": BIRTH_SEX, "valueCode": BIRTH_SEX_CODE.get(row["sex"], "UNK")}],
        }
        if row["birth_year"] is not None:
            resource["birthDate"] = str(row["birth_year"])
        patients.append(resource)
    observations = []
    numbers: Counter[str] = Counter()
    for row in arrow_table(research.scores, "scores").to_pylist():
        instrument = get_instrument(row["instrument_id"])
        numbers[row["research_id"]] += 1
        observations.append(
            {
                "resourceType": "Observation",
                "id": f"{row['research_id']}-score-{numbers[row['research_id']]}",
                "meta": PSEUDONYMISED,
                "status": "final",
                "category": [SURVEY],
                "code": loinc_code(instrument.loinc_total, f"{instrument.short_name} total score"),
                "subject": _subject(row["research_id"]),
                "effectiveDateTime": row["completed_at"].isoformat(),
                "valueInteger": row["total"],
            }
        )
    administrations = []
    for row in arrow_table(research.sessions, "sessions").to_pylist():
        protocol = get_protocol(row["protocol_id"])
        dosage: dict[str, Any] = {
            "dose": {"value": row["dose_mg"], "unit": "mg", "system": UCUM, "code": "mg"}
        }
        if protocol.route in ROUTE_CODING:
            dosage["route"] = {"coding": [ROUTE_CODING[protocol.route]]}
        administrations.append(
            {
                "resourceType": "MedicationAdministration",
                "id": row["session_ref"],
                "meta": PSEUDONYMISED,
                "status": "in-progress" if row["state"] == "dosing" else "completed",
                "medicationCodeableConcept": {
                    "coding": [
                        {
                            "system": "urn:ketacare:drug",
                            "code": protocol.drug,
                            "display": DRUG_TEXT.get(protocol.drug, protocol.drug),
                        }
                    ],
                    "text": DRUG_TEXT.get(protocol.drug, protocol.drug),
                },
                "subject": _subject(row["research_id"]),
                "effectiveDateTime": row["dose_started_at"].isoformat(),
                "dosage": dosage,
            }
        )
    return {
        "Patient": patients,
        "Observation": observations,
        "MedicationAdministration": administrations,
    }
