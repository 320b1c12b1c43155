"""A patient's measures as a FHIR R4 Bundle: Questionnaire, QuestionnaireResponse and
Observations (a survey panel whose members are the item answers and the total score).

Plain dictionaries, serialised as JSON; the test suite validates every resource with the
``fhir.resources`` R4B models. LOINC codes are used where the instrument's data file has them.
"""

import uuid
from collections.abc import Iterable
from typing import Any

from ketacare.clinical.instruments import Instrument, get
from ketacare.measures.models import QuestionnaireResponse
from ketacare.patients.models import Patient

LOINC = "http://loinc.org"
NAMESPACE = uuid.UUID("6f1d1b8e-7d0a-4c6e-9a51-6b7c2f6d3a10")
SURVEY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey",
            "display": "Survey",
        }
    ]
}
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"


def _urn(*parts: object) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, '/'.join(str(p) for p in parts))}"


def _canonical(instrument: Instrument) -> str:
    return f"urn:ketacare:questionnaire:{instrument.id}"


def loinc_code(loinc: str | None, text: str) -> dict[str, Any]:
    """A FHIR CodeableConcept: the text, and its LOINC coding when there is one (the registry's
    export codes its totals the same way)."""
    code: dict[str, Any] = {"text": text}
    if loinc:
        code["coding"] = [{"system": LOINC, "code": loinc, "display": text}]
    return code


def _link_id(instrument: Instrument, number: int) -> str:
    item = instrument.items[number - 1]
    return item.loinc or f"{instrument.id}-{number}"


def _answer_coding(instrument: Instrument, number: int, value: int) -> dict[str, Any]:
    option = next(o for o in instrument.items[number - 1].options if o.value == value)
    if option.loinc:
        return {"system": LOINC, "code": option.loinc, "display": option.label}
    return {
        "system": f"urn:ketacare:answers:{instrument.id}",
        "code": str(option.value),
        "display": option.label,
    }


def questionnaire(instrument: Instrument) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "url": _canonical(instrument),
        "version": instrument.version,
        "name": instrument.id.upper(),
        "title": instrument.name,
        "status": "active",
        "subjectType": ["Patient"],
        "copyright": instrument.licence,
        "item": [],
    }
    if instrument.loinc_panel:
        resource["code"] = [{"system": LOINC, "code": instrument.loinc_panel}]
    for item in instrument.items:
        options = []
        for option in item.options:
            coding = _answer_coding(instrument, item.number, option.value)
            options.append(
                {
                    "valueCoding": coding,
                    "extension": [{"url": ORDINAL, "valueDecimal": option.value}],
                }
            )
        entry: dict[str, Any] = {
            "linkId": _link_id(instrument, item.number),
            "text": item.label,
            "type": "choice",
            "required": True,
            "answerOption": options,
        }
        if item.loinc:
            entry["code"] = [{"system": LOINC, "code": item.loinc}]
        resource["item"].append(entry)
    return resource


def _resources_for(
    response: QuestionnaireResponse, patient_ref: str
) -> list[tuple[str, dict[str, Any]]]:
    instrument = get(response.instrument_id)
    authored = response.completed_at.isoformat()
    qr_ref = _urn("qr", response.pk)
    qr = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{_canonical(instrument)}|{response.instrument_version}",
        "status": "completed",
        "subject": {"reference": patient_ref},
        "authored": authored,
        "item": [
            {
                "linkId": _link_id(instrument, n),
                "text": instrument.items[n - 1].label,
                "answer": [{"valueCoding": _answer_coding(instrument, n, value)}],
            }
            for n, value in enumerate(response.answers, start=1)
        ],
    }
    base = {
        "status": "final",
        "category": [SURVEY],
        "subject": {"reference": patient_ref},
        "effectiveDateTime": authored,
        "derivedFrom": [{"reference": qr_ref}],
    }
    members: list[tuple[str, dict[str, Any]]] = []
    for n, value in enumerate(response.answers, start=1):
        item = instrument.items[n - 1]
        members.append(
            (
                _urn("item", response.pk, n),
                {
                    "resourceType": "Observation",
                    **base,
                    "code": loinc_code(
                        item.loinc, f"{instrument.short_name} item {n}: {item.label}"
                    ),
                    "valueInteger": value,
                },
            )
        )
    if response.total is not None:
        members.append(
            (
                _urn("total", response.pk),
                {
                    "resourceType": "Observation",
                    **base,
                    "code": loinc_code(
                        instrument.loinc_total, f"{instrument.short_name} total score"
                    ),
                    "valueInteger": response.total,
                    **(
                        {"interpretation": [{"text": response.severity}]}
                        if response.severity
                        else {}
                    ),
                },
            )
        )
    else:
        members.append(
            (
                _urn("result", response.pk),
                {
                    "resourceType": "Observation",
                    **base,
                    "code": loinc_code(instrument.loinc_total, f"{instrument.short_name} result"),
                    "valueCodeableConcept": {"text": response.severity},
                },
            )
        )
    panel = {
        "resourceType": "Observation",
        **base,
        "code": loinc_code(instrument.loinc_panel, instrument.name),
        "hasMember": [{"reference": ref} for ref, _ in members],
    }
    return [(qr_ref, qr), (_urn("panel", response.pk), panel), *members]


def measures_bundle(patient: Patient, responses: Iterable[QuestionnaireResponse]) -> dict[str, Any]:
    """A ``collection`` Bundle of the patient and all their questionnaire data."""
    patient_ref = _urn("patient", patient.pk)
    entries: list[tuple[str, dict[str, Any]]] = [
        (
            patient_ref,
            {
                "resourceType": "Patient",
                "identifier": [
                    {
                        "system": f"urn:ketacare:clinic:{patient.clinic_id}:mrn",
                        "value": patient.mrn,
                    }
                ],
                "name": [{"family": patient.family_name, "given": [patient.given_name]}],
                "birthDate": patient.date_of_birth.isoformat(),
            },
        )
    ]
    seen: set[str] = set()
    data: list[tuple[str, dict[str, Any]]] = []
    for response in responses:
        if response.instrument_id not in seen:
            seen.add(response.instrument_id)
            instrument = get(response.instrument_id)
            entries.append((_urn("questionnaire", instrument.id), questionnaire(instrument)))
        data.extend(_resources_for(response, patient_ref))
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": ref, "resource": res} for ref, res in [*entries, *data]],
    }
