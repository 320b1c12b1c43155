"""The patient's own record in the portal: their scores, and the audited FHIR download."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.measures.actions import record_staff_response
from tests.conftest import actor, make_patient
from tests.portal.conftest import signed_in_client

pytestmark = pytest.mark.django_db


def test_the_patient_sees_their_own_scores(clinic, nurse, portal_patient, portal_client):
    record_staff_response(actor(nurse, clinic), portal_patient, "gad7", [1] * 7, timezone.now())
    page = portal_client.get(reverse("portal-scores")).content.decode()
    assert "Generalized Anxiety Disorder" in page or "GAD-7" in page
    assert "<svg" in page and ">7<" in page


def test_the_download_is_the_fhir_export_of_their_own_record_and_is_audited(
    clinic, nurse, portal_patient, portal_client
):
    record_staff_response(actor(nurse, clinic), portal_patient, "gad7", [1] * 7, timezone.now())
    other = make_patient(nurse, clinic, given_name="Byron", family_name="Noel", email="b@x.org")
    record_staff_response(actor(nurse, clinic), other, "gad7", [3] * 7, timezone.now())
    response = portal_client.post(reverse("portal-download"))
    assert response["Content-Type"] == "application/fhir+json"
    bundle = json.loads(response.content)
    resources = [entry["resource"] for entry in bundle["entry"]]
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    assert [p["identifier"][0]["value"] for p in patients] == [portal_patient.mrn]
    export = AuditEvent.objects.get(action="export", patient_id=portal_patient.pk)
    assert export.role == "patient" and export.actor_id is None


def test_a_get_exports_nothing(portal_client, portal_patient):
    assert portal_client.get(reverse("portal-download")).status_code == 405
    assert not AuditEvent.objects.filter(action="export").exists()


def test_another_patient_downloads_only_their_own(clinic, nurse, portal_patient):
    make_patient(nurse, clinic, given_name="Grace", family_name="Hopper", email="g@x.org")
    response = signed_in_client(clinic, "g@x.org").post(reverse("portal-download"))
    bundle = json.loads(response.content)
    assert portal_patient.mrn not in json.dumps(bundle)
