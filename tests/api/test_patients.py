"""The patients resource: each endpoint per role against the permission table, another
clinic's token sees nothing, reads and writes audited, duplicates refused, cursors, and
error bodies for bad input (never a 500)."""

import json

import pytest
from django.test import Client

from ketacare.accounts.permissions import allowed
from ketacare.audit.models import AuditEvent
from ketacare.patients.models import Patient
from tests.api.conftest import api_client, bearer, error_of, token_for
from tests.conftest import ROLES, client_for, make_patient

PATIENTS = "/api/v1/patients/"
NEW = {
    "given_name": "Grace",
    "family_name": "Hopper",
    "date_of_birth": "1966-12-09",
    "sex_at_birth": "female",
    "allergies": "NKDA",
}


def post(client: Client, data, **extra):
    body = data if isinstance(data, str) else json.dumps(data)
    return client.post(PATIENTS, body, content_type="application/json", **extra)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_table_says(role, staff, clinic, patient):
    client = api_client(staff[role], clinic)
    reads = [client.get(PATIENTS), client.get(f"{PATIENTS}{patient.pk}")]
    for response in reads:
        if allowed(role, "patient.view"):
            assert response.status_code == 200, (role, response.content)
        else:
            assert error_of(response, 403)["code"] == "forbidden"
    data = {**NEW, "weight_kg": "70.0"} if allowed(role, "patient.record_measurement") else NEW
    created = post(client, data)
    if allowed(role, "patient.create"):
        assert created.status_code == 201, (role, created.content)
        assert Patient.objects.filter(pk=created.json()["id"], clinic=clinic).exists()
    else:
        assert error_of(created, 403)["code"] == "forbidden"
        assert not Patient.objects.filter(family_name="Hopper").exists()


def test_another_clinics_token_sees_nothing(patient, outsider, other_clinic):
    client = api_client(outsider, other_clinic)
    assert error_of(client.get(f"{PATIENTS}{patient.pk}"), 404)["code"] == "not_found"
    for q in ("", patient.family_name, patient.mrn, "1985"):
        assert client.get(PATIENTS, {"q": q}).json()["items"] == []


def test_reads_are_audited_like_a_chart_view(nurse, clinic, patient):
    text = token_for(nurse, clinic)
    client = bearer(text)
    via = "token " + text.split("_")[1]
    assert client.get(f"{PATIENTS}{patient.pk}").json()["mrn"] == patient.mrn
    view = AuditEvent.objects.get(action="view", patient=patient)
    assert view.actor == nurse and view.changes == {"via": via}
    found = client.get(PATIENTS, {"q": "lovelace"}).json()["items"]
    assert [p["id"] for p in found] == [patient.pk]
    search = AuditEvent.objects.get(action="search")
    assert search.changes == {"query": "lovelace", "via": via, "patients": [patient.pk]}


def test_a_session_works_and_its_reads_are_audited(nurse, patient):
    response = client_for(nurse).get(f"{PATIENTS}{patient.pk}")
    assert response.status_code == 200
    assert AuditEvent.objects.get(action="view", patient=patient).changes == {"via": "session"}


def test_a_session_post_needs_the_csrf_token(nurse):
    client = Client(enforce_csrf_checks=True)
    client.force_login(nurse)
    assert error_of(post(client, NEW), 403)["code"] == "forbidden"
    assert not Patient.objects.filter(family_name="Hopper").exists()


def test_create_goes_through_the_action_and_its_audit(nurse, clinic):
    response = post(api_client(nurse, clinic), {**NEW, "weight_kg": "60.5", "height_cm": "170"})
    assert response.status_code == 201
    patient = Patient.objects.get(pk=response.json()["id"])
    assert patient.mrn == response.json()["mrn"] and patient.measurements.count() == 1
    assert AuditEvent.objects.filter(action="create", patient=patient, actor=nurse).exists()


def test_a_likely_duplicate_is_refused_until_confirmed(nurse, clinic, patient):
    client = api_client(nurse, clinic)
    same = {**NEW, "given_name": "ada", "family_name": "LOVELACE", "date_of_birth": "1985-12-10"}
    error = error_of(post(client, same), 409)
    assert error["code"] == "likely_duplicate"
    assert error["duplicates"] == [
        {"id": patient.pk, "mrn": patient.mrn, "reasons": ["same name and date of birth"]}
    ]
    assert Patient.objects.count() == 1
    confirmed = post(client, {**same, "confirmed_duplicates": [patient.pk]})
    assert confirmed.status_code == 201 and Patient.objects.count() == 2


def test_a_role_that_does_not_measure_may_not_send_a_weight(coordinator, clinic):
    error = error_of(post(api_client(coordinator, clinic), {**NEW, "weight_kg": "60"}), 403)
    assert "weight" in error["message"]
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({**NEW, "date_of_birth": "2999-01-01"}, 422, "date_of_birth"),
        ({**NEW, "date_of_birth": "not a date"}, 422, "date_of_birth"),
        ({**NEW, "sex_at_birth": "robot"}, 422, "sex_at_birth"),
        ({**NEW, "allergies": ""}, 422, "allergies"),
        ({**NEW, "phone": "call me"}, 422, "phone"),
        ({**NEW, "given_name": "x" * 101}, 422, "given_name"),
        ({**NEW, "given_name": "A\x00"}, 422, "given_name"),
        ({**NEW, "weight_kg": "6000"}, 422, "weight_kg"),
        ({**NEW, "weight_kg": "NaN"}, 422, "weight_kg"),
        ({**NEW, "height_cm": "170"}, 422, "weight_kg"),
        ({**NEW, "confirmed_duplicates": ["x"]}, 422, "confirmed_duplicates.0"),
        ({"given_name": "A"}, 422, "family_name"),
        ("{not json", 400, None),
        ("[]", 422, None),
    ],
)
def test_bad_input_is_an_error_body_never_a_500(nurse, clinic, body, status, field):
    error = error_of(post(api_client(nurse, clinic), body), status)
    if field is not None:
        assert field in error["fields"], error
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        f"{PATIENTS}0",
        f"{PATIENTS}99999999999999999999999",
        f"{PATIENTS}-1",
        f"{PATIENTS}abc",
        f"{PATIENTS}?limit=0",
        f"{PATIENTS}?limit=1000",
        f"{PATIENTS}?limit=x",
        f"{PATIENTS}?cursor=forged",
        f"{PATIENTS}?q=%00%FF%EF%BF%BF",
    ],
)
def test_bad_paths_and_parameters_are_error_bodies(nurse, clinic, path):
    response = api_client(nurse, clinic).get(path)
    assert response.status_code in (200, 400, 404, 422), (path, response.status_code)
    if response.status_code != 200:
        error_of(response, response.status_code)


def _walk(client, **params):
    seen, cursor, pages = [], "", 0
    while True:
        page = client.get(PATIENTS, {**params, **({"cursor": cursor} if cursor else {})}).json()
        seen += [p["family_name"] for p in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, pages


def test_cursor_pages_cover_every_patient_once_in_name_order(nurse, clinic, other_clinic):
    names = ["Adams", "Baker", "Brown", "Bryant", "Clark", "Brooks", "Burns"]
    for number, family in enumerate(names):
        make_patient(nurse, clinic, family_name=family, phone=f"555 010 01{number:02d}")
    client = api_client(nurse, clinic)
    seen, pages = _walk(client, limit=2)
    assert seen == sorted(names) and pages == 4
    # A search's pages, across the UNION of name branches: "b" matches family names.
    seen, pages = _walk(client, limit=2, q="b")
    assert seen == sorted(n for n in names if n.startswith("B")) and pages == 3


def test_a_cursor_belongs_to_its_search(nurse, clinic):
    for family in ("Adams", "Baker", "Clark"):
        make_patient(nurse, clinic, family_name=family, phone="", email="")
    client = api_client(nurse, clinic)
    cursor = client.get(PATIENTS, {"limit": 1}).json()["next_cursor"]
    error = error_of(client.get(PATIENTS, {"limit": 1, "q": "b", "cursor": cursor}), 400)
    assert error["code"] == "bad_request"


def test_a_bad_parameter_is_named_in_the_error(nurse, clinic):
    client = api_client(nurse, clinic)
    assert "limit" in error_of(client.get(PATIENTS, {"limit": 0}), 422)["fields"]
    assert "q" in error_of(client.get(PATIENTS, {"q": "x" * 201}), 422)["fields"]
