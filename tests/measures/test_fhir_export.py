"""The FHIR export parses with the fhir.resources R4B models, resource by resource."""

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from ketacare.audit.models import AuditEvent
from ketacare.measures import actions
from tests.conftest import actor

ANSWERS = {
    "phq9": [1, 2, 0, 1, 1, 0, 2, 1, 0],
    "gad7": [1, 1, 1, 1, 1, 1, 1],
    "cssrs_screen": [1, 1, 0, 0, 0, 0, 0],
    "madrs": [3] * 10,
    "auditc": [1, 1, 0],
}


@pytest.fixture
def scored(patient, nurse, clinic):
    now = timezone.now()
    for i, (instrument, answers) in enumerate(ANSWERS.items()):
        actions.record_staff_response(
            actor(nurse, clinic), patient, instrument, answers, now - timedelta(days=i)
        )
    return patient


def validate(bundle):
    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def by_type(bundle, resource_type):
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def test_download_is_valid_fhir_and_audited(as_user, nurse, scored):
    response = as_user(nurse).get(reverse("measure-export-fhir", args=[scored.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    assert scored.mrn in response["Content-Disposition"]
    bundle = json.loads(response.content)
    validate(bundle)
    assert len(by_type(bundle, "Questionnaire")) == len(ANSWERS)
    assert len(by_type(bundle, "QuestionnaireResponse")) == len(ANSWERS)
    assert AuditEvent.objects.filter(action="export", patient=scored).count() == 1


def test_phq9_uses_loinc_codes_and_a_numeric_total(as_user, nurse, scored):
    bundle = json.loads(
        as_user(nurse).get(reverse("measure-export-fhir", args=[scored.pk])).content
    )
    observations = by_type(bundle, "Observation")
    panel = next(
        o for o in observations if o["code"].get("coding", [{}])[0].get("code") == "44249-1"
    )
    assert panel["category"][0]["coding"][0]["code"] == "survey"
    members = {m["reference"] for m in panel["hasMember"]}
    urls = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    member_codes = {urls[m]["code"].get("coding", [{}])[0].get("code") for m in members}
    assert {"44261-6", "44250-9", "44260-8"} <= member_codes
    total = next(urls[m] for m in members if urls[m]["code"]["coding"][0]["code"] == "44261-6")
    assert total["valueInteger"] == 8
    assert total["derivedFrom"][0]["reference"] in urls
    qr = next(r for r in by_type(bundle, "QuestionnaireResponse") if "phq9" in r["questionnaire"])
    assert qr["item"][0]["answer"][0]["valueCoding"]["code"] == "LA6569-3"  # "Several days"


def test_cssrs_result_is_the_risk_level(as_user, nurse, scored):
    bundle = json.loads(
        as_user(nurse).get(reverse("measure-export-fhir", args=[scored.pk])).content
    )
    risk = [o for o in by_type(bundle, "Observation") if o.get("valueCodeableConcept")]
    assert [r["valueCodeableConcept"]["text"] for r in risk] == ["low"]


def test_unlicensed_item_text_is_not_exported(as_user, nurse, scored):
    bundle = json.loads(
        as_user(nurse).get(reverse("measure-export-fhir", args=[scored.pk])).content
    )
    madrs = next(q for q in by_type(bundle, "Questionnaire") if q["url"].endswith(":madrs"))
    assert [i["text"] for i in madrs["item"]][:2] == ["Item 1", "Item 2"]


def test_export_command_writes_a_valid_bundle(scored, tmp_path):
    out = tmp_path / "bundle.json"
    call_command("export", "fhir", "--patient", scored.mrn, "--out", str(out))
    validate(json.loads(out.read_text()))
    assert AuditEvent.objects.filter(action="export", patient=scored, role="system").exists()
    with pytest.raises(CommandError, match="No patient"):
        call_command("export", "fhir", "--patient", "99999999")


def test_export_command_needs_the_clinic_when_the_mrn_is_ambiguous(scored, outsider_patient):
    assert scored.mrn == outsider_patient.mrn  # each clinic numbers from 1
    with pytest.raises(CommandError, match="--clinic"):
        call_command("export", "fhir", "--patient", scored.mrn)
    call_command(
        "export",
        "fhir",
        "--patient",
        scored.mrn,
        "--clinic",
        scored.clinic.name,
        "--out",
        "/dev/null",
    )
