"""The de-identified research export: nothing that identifies a patient leaves in any file,
dates move together per patient, the FHIR NDJSON is valid R4, only patients whose latest
research-registry consent is granted are in it, and every export is audited and allowed only
to the roles of the permission table, for their own clinic's patients."""

import io
import json
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from ketacare.accounts.models import Clinic
from ketacare.audit.models import AuditEvent
from ketacare.clinical.measurements import age_in_years
from ketacare.inventory import actions as inventory
from ketacare.measures import actions as measures
from ketacare.measures.models import QuestionnaireResponse
from ketacare.patients import actions as patient_actions
from ketacare.patients.models import ConsentRecord
from ketacare.planning.models import Evaluation
from ketacare.registry.dataset import Cohort, Dataset, load
from ketacare.registry.export import actions, consent, safe_harbor, writers
from ketacare.registry.export.dictionary import COLUMNS, TABLES
from ketacare.treatments import actions as treatments
from ketacare.treatments.actions import Supply
from ketacare.treatments.models import TreatmentSession
from tests.conftest import actor, make_patient
from tests.inventory.conftest import DEA_NUMBER, as_admin, receive
from tests.treatments.conftest import NORMAL, READY, as_nurse, make_session

KEY = b"a test key, not the installation's"
PHQ9 = [1, 2, 0, 1, 1, 0, 2, 1, 0]  # item 9 is 0: no safety alert to block check-in
GAD7 = [1, 1, 1, 1, 1, 1, 1]

ADA = {
    "given_name": "Ada",
    "family_name": "Lovelace",
    "date_of_birth": date(1985, 12, 10),
    "phone": "+1 617 555 0143",
    "email": "ada.lovelace@example.org",
    "address": "12 Crescent Road\nCambridge, MA 02139",
}
BEATRIX = {  # 90 or older, and in a three-digit ZIP area of fewer than 20,000 people
    "given_name": "Beatrix",
    "family_name": "Quennell",
    "date_of_birth": date(1931, 2, 3),
    "sex_at_birth": "female",
    "phone": "603-555-0178",
    "email": "bquennell@example.net",
    "address": "7 Mill Lane, Hanover, NH 03601",
}
CYRUS = {
    "given_name": "Cyrus",
    "family_name": "Ambergate",
    "date_of_birth": date(1980, 7, 4),
    "sex_at_birth": "male",
    "phone": "(212) 555-0199",
    "email": "cyrus@ambergate.example",
    "address": "350 Fifth Avenue, New York, NY 10001",
}


# --- a clinic with patients ------------------------------------------------------------------


def research_consent(user, patient, decision="granted", days_ago=30):
    """A research-registry consent record of ``decision``, signed ``days_ago`` days ago and
    entered by ``user``, as the chart's consent form records it."""
    return patient_actions.record_consent(
        actor(user, patient.clinic),
        patient,
        {
            "kind": ConsentRecord.Kind.RESEARCH_REGISTRY,
            "decision": decision,
            "version": "2026-01",
            "signed_at": timezone.now() - timedelta(days=days_ago),
            "signed_by": patient.full_name,
        },
    )


def ketamine_supply(clinic, clinic_admin, nurse):
    admin = as_admin(clinic_admin, clinic)
    registration = inventory.create_registration(admin, DEA_NUMBER, clinic.name, "")
    safe = inventory.add_location(admin, registration.pk, "Main safe", "safe")
    product = inventory.add_product(
        admin,
        ndc="00000-0101-20",
        name="Ketamine 10 mg/mL 20 mL",
        drug="racemic_ketamine",
        form="vial",
        mg_per_unit=Decimal("10"),
        unit="mL",
        units_per_package=Decimal(1),
    )
    lot = receive(as_nurse(nurse, clinic), registration, product, safe, "400").lot
    return Supply(registration.pk, lot.pk, safe.pk, "20")


@pytest.fixture
def people(clinic, prescriber, nurse, clinic_admin, outsider_patient, outsider, other_clinic):
    """Ada: evaluated, dosed today (with an adverse event), three scores over 40 days.
    Beatrix, 95: two scores 100 and 5 days ago. Cyrus: registered only. And Grace Hopper, with
    a score, at another clinic. All four consented to the research registry."""
    Clinic.objects.filter(pk=clinic.pk).update(treatment_days="0123456")
    now = timezone.now()
    ada = make_patient(nurse, clinic, **ADA)
    beatrix = make_patient(nurse, clinic, **BEATRIX)
    cyrus = make_patient(nurse, clinic, **CYRUS)
    for patient in (ada, beatrix, cyrus):
        research_consent(nurse, patient)
    research_consent(outsider, outsider_patient)
    who = as_nurse(nurse, clinic)
    for days, instrument, answers in [(40, "phq9", PHQ9), (10, "gad7", GAD7), (0, "phq9", PHQ9)]:
        measures.record_staff_response(
            who, ada, instrument, answers, now - timedelta(days=days, hours=1)
        )
    for days in (100, 5):
        measures.record_staff_response(who, beatrix, "phq9", PHQ9, now - timedelta(days=days))
    measures.record_staff_response(
        actor(outsider, other_clinic), outsider_patient, "phq9", PHQ9, now - timedelta(days=3)
    )
    session = make_session(prescriber, nurse, clinic, ada)
    treatments.check_in(who, session.pk, READY)
    treatments.record_observation(who, session.pk, NORMAL)
    treatments.start_dose(who, session.pk, ketamine_supply(clinic, clinic_admin, nurse))
    treatments.record_adverse_event(
        who, session.pk, "other", "mild", description="Ada Lovelace felt the room tilt"
    )
    return {"ada": ada, "beatrix": beatrix, "cyrus": cyrus, "grace": outsider_patient}


def real_dates(patient):
    """Every date of the patient's record that the export must not show."""
    days = {patient.date_of_birth, timezone.localdate(patient.created_at)}
    for moment in [
        *QuestionnaireResponse.objects.filter(patient=patient).values_list(
            "completed_at", flat=True
        ),
        *Evaluation.objects.filter(patient=patient).values_list("signed_at", flat=True),
        *TreatmentSession.objects.filter(patient=patient).values_list("dose_started_at", flat=True),
    ]:
        if moment is not None:
            days.add(timezone.localdate(moment))
    days |= set(TreatmentSession.objects.filter(patient=patient).values_list("date", flat=True))
    return days


@pytest.fixture
def wide_key(people, monkeypatch):
    """The installation key, replaced by one that moves every test patient by more than the
    span of their real dates (100 days). With a small shift, a moved date could land on
    another real date by chance, and the scan could not tell that from a leak."""
    ids = [people[name].pk for name in ("ada", "beatrix", "cyrus")]
    key = next(
        k
        for k in (f"test key {n}".encode() for n in range(1000))
        if all(abs(safe_harbor.shift_days(k, pid)) > 110 for pid in ids)
    )
    monkeypatch.setattr(actions, "installation_key", lambda: key)
    return key


def download(client, **form):
    data = {"formats": list(writers.FORMATS), **form}
    response = client.post(reverse("registry-export"), data)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def parquet(files, table):
    return pq.read_table(io.BytesIO(files[f"{table}.parquet"]))


def ndjson(files, kind):
    return [json.loads(line) for line in files[f"fhir/{kind}.ndjson"].decode().splitlines()]


def date_strings(day):
    return {
        day.isoformat(),
        day.strftime("%Y%m%d"),
        day.strftime("%Y/%m/%d"),
        day.strftime("%m/%d/%Y"),
        day.strftime("%d/%m/%Y"),
        day.strftime("%d.%m.%Y"),
        day.strftime("%m-%d-%Y"),
        day.strftime("%d-%m-%Y"),
        day.strftime("%m/%d/%y"),
        f"{day.month}/{day.day}/{day.year}",
        day.strftime("%b %d, %Y"),
        day.strftime("%B %d, %Y"),
        day.strftime("%d %b %Y"),
        f"{day.day} {day.strftime('%B')} {day.year}",
    }


def identifiers(patient):
    words = [
        patient.given_name,
        patient.family_name,
        patient.full_name,
        patient.mrn,
        patient.phone,
        "".join(ch for ch in patient.phone if ch.isdigit()),
        patient.email,
    ]
    if patient.address:
        street = patient.address.splitlines()[0].split(",")[0]
        words += [patient.address, street, patient.address.rsplit(" ", 1)[-1]]  # and the ZIP
    return [w for w in words if w]


def found(needle, text):
    """Whether ``needle`` is in ``text``; a name only as a whole word ("Ada" is in "metadata")."""
    if needle.isalpha():
        return re.search(rf"(?<![a-z]){re.escape(needle.lower())}(?![a-z])", text) is not None
    return needle.lower() in text


def readable(files):
    """Every file as text to search: the raw bytes, and Parquet decoded (its pages are
    compressed, so their raw bytes hide what they hold)."""
    for name, content in files.items():
        yield name, content.decode("latin-1").lower()
        if name.endswith(".parquet"):
            rows = pq.read_table(io.BytesIO(content)).to_pylist()
            yield name + " (decoded)", json.dumps(rows, default=str).lower()


# --- what leaves -----------------------------------------------------------------------------


def test_no_name_mrn_address_phone_email_or_real_date_appears_in_any_file(
    people, wide_key, researcher, as_user
):
    files = download(as_user(researcher))
    assert {"patients.parquet", "scores.csv", "fhir/Patient.ndjson", "README.md"} <= set(files)
    assert "data_dictionary.json" in files
    needles = {}
    for name in ("ada", "beatrix", "cyrus", "grace"):
        patient = people[name]
        needles.update({w: name for w in identifiers(patient)})
        needles.update({s: name for day in real_dates(patient) for s in date_strings(day)})
    needles["felt the room tilt"] = "adverse event description"
    for file, text in readable(files):
        for needle, whose in needles.items():
            assert not found(needle, text), f"{whose}'s {needle!r} is in {file}"


def test_every_file_is_described_in_the_data_dictionary(people, researcher, as_user):
    files = download(as_user(researcher))
    dictionary = json.loads(files["data_dictionary.json"])
    for table in TABLES:
        described = [c["name"] for c in dictionary[table]]
        assert parquet(files, table).column_names == described
        assert files[f"{table}.csv"].decode().splitlines()[0].split(",") == described
        assert all(c["type"] and c["meaning"] for c in dictionary[table])
    assert "patient_id" not in json.dumps(dictionary)


def test_ages_over_89_are_90_plus_with_no_birth_year(people, researcher, as_user):
    patients = parquet(download(as_user(researcher)), "patients").to_pandas()
    today = timezone.localdate()
    assert sorted(patients["age"]) == sorted(
        [
            "90+",
            str(age_in_years(ADA["date_of_birth"], today)),
            str(age_in_years(CYRUS["date_of_birth"], today)),
        ]
    )
    old = patients[patients["age"] == "90+"]
    assert len(old) == 1 and pd.isna(old["birth_year"].iloc[0])
    assert set(patients["birth_year"].dropna()) == {1985, 1980}


def test_zip_is_cut_to_three_digits_and_000_for_small_areas(people, researcher, as_user):
    patients = parquet(download(as_user(researcher)), "patients").to_pandas()
    assert sorted(patients["zip3"]) == ["000", "021", "100"]


@pytest.mark.parametrize(
    ("zip_code", "cut"),
    [("02139", "021"), ("03601", "000"), ("89301", "000"), ("89401", "894"), ("", ""), (None, "")],
)
def test_zip3(zip_code, cut):
    assert safe_harbor.zip3(zip_code) == cut


def test_every_safe_harbor_small_area_becomes_000():
    # As HHS lists them (2000 Census), written out again so a change to the list shows here.
    areas = "036 059 063 102 203 556 692 790 821 823 830 831 878 879 884 890 893"
    assert set(areas.split(" ")) == safe_harbor.RESTRICTED_ZIP3
    for area in safe_harbor.RESTRICTED_ZIP3:
        assert safe_harbor.zip3(area + "12") == "000"


# --- pseudonyms and shifted dates ------------------------------------------------------------


def hand_made_dataset():
    """Two patients; the first has two sessions (one with an adverse event) and two scores."""
    t = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    patients = pd.DataFrame(
        [
            {
                "patient_id": 7,
                "clinic_id": 1,
                "sex": "female",
                "birth_date": date(1960, 5, 17),
                "age_years": 63,
                "zip": "02139",
                "indication": "trd",
                "adequate_trials": 2,
                "evaluated": True,
                "evaluated_on": date(2024, 2, 20),
                "eligible": True,
                "started": True,
                "protocol_id": "iv_ketamine",
                "route": "iv_ketamine",
                "induction_planned": 6,
                "induction_done": 2,
                "completed_induction": False,
                "first_dose_at": t,
                "last_induction_dose_at": t + timedelta(days=3, hours=2),
            },
            {
                "patient_id": 8,
                "clinic_id": 1,
                "sex": "male",
                "birth_date": date(1930, 1, 1),
                "age_years": 94,
                "zip": "",
                "indication": None,
                "adequate_trials": None,
                "evaluated": False,
                "evaluated_on": None,
                "eligible": False,
                "started": False,
                "protocol_id": None,
                "route": None,
                "induction_planned": 0,
                "induction_done": 0,
                "completed_induction": False,
                "first_dose_at": None,
                "last_induction_dose_at": None,
            },
        ]
    )
    session = {
        "plan_id": 3,
        "protocol_id": "iv_ketamine",
        "route": "iv_ketamine",
        "state": "discharged",
        "dose_mg": 35.0,
        "gate_overridden": False,
        "severe_hypertension": False,
    }
    sessions = pd.DataFrame(
        [
            {
                **session,
                "session_id": 41,
                "patient_id": 7,
                "number": 1,
                "date": t.date(),
                "dose_started_at": t,
            },
            {
                **session,
                "session_id": 44,
                "patient_id": 7,
                "number": 2,
                "date": (t + timedelta(days=3)).date(),
                "dose_started_at": t + timedelta(days=3, hours=2),
            },
        ]
    )
    events = pd.DataFrame(
        [{"session_id": 44, "patient_id": 7, "kind": "nausea", "severity": "mild"}]
    )
    scores = pd.DataFrame(
        [
            {"patient_id": 7, "instrument_id": "phq9", "total": 18, "completed_at": t},
            {
                "patient_id": 7,
                "instrument_id": "phq9",
                "total": 9,
                "completed_at": t + timedelta(days=28, minutes=5),
            },
            {
                "patient_id": 8,
                "instrument_id": "gad7",
                "total": 4,
                "completed_at": t - timedelta(days=9),
            },
        ]
    )
    return Dataset(patients, sessions, events, scores)


def test_intervals_within_a_patient_are_kept_and_no_date_is_real():
    original = hand_made_dataset()
    research = safe_harbor.deidentify(original, KEY)
    shift = timedelta(days=safe_harbor.shift_days(KEY, 7))
    rid = safe_harbor.research_id(KEY, 7)
    patient = research.patients.set_index("research_id").loc[rid]
    sessions, scores = research.sessions, research.scores
    assert shift != timedelta(0)
    first = patient["first_dose_at"]
    assert first == datetime(2024, 3, 1, 9, 30, tzinfo=UTC) + shift
    assert patient["last_induction_dose_at"] - first == timedelta(days=3, hours=2)
    assert patient["evaluated_on"] == date(2024, 2, 20) + shift
    assert list(sessions["dose_started_at"] - first) == [timedelta(0), timedelta(days=3, hours=2)]
    assert list(sessions["date"]) == [first.date(), first.date() + timedelta(days=3)]
    mine = scores[scores["research_id"] == rid]
    assert list(mine["completed_at"] - first) == [timedelta(0), timedelta(days=28, minutes=5)]
    assert first.time() == datetime(2024, 3, 1, 9, 30).time()


def test_the_same_patient_has_one_research_id_and_shift_in_every_table():
    research = safe_harbor.deidentify(hand_made_dataset(), KEY)
    ids = set(research.patients["research_id"])
    assert ids == {safe_harbor.research_id(KEY, 7), safe_harbor.research_id(KEY, 8)}
    ada = safe_harbor.research_id(KEY, 7)
    assert set(research.sessions["research_id"]) == {ada}
    assert list(research.sessions["session_ref"]) == [f"{ada}-1", f"{ada}-2"]
    assert list(research.adverse_events["session_ref"]) == [f"{ada}-2"]
    assert set(research.scores["research_id"]) == ids
    # The same shift everywhere: the first score and first session were at the same moment.
    first_score = research.scores[research.scores["research_id"] == ada]["completed_at"].min()
    assert first_score == research.sessions["dose_started_at"].min()
    # And the same id and shift in another export with the same key.
    again = safe_harbor.deidentify(hand_made_dataset(), KEY)
    pd.testing.assert_frame_equal(again.scores, research.scores)


def test_a_patients_real_intervals_survive_the_export(people, wide_key, researcher, as_user):
    files = download(as_user(researcher))
    ada = people["ada"]
    rid = safe_harbor.research_id(wide_key, ada.pk)
    real_dose = TreatmentSession.objects.get(patient=ada).dose_started_at
    real_scores = sorted(
        QuestionnaireResponse.objects.filter(patient=ada).values_list("completed_at", flat=True)
    )
    session = parquet(files, "sessions").to_pylist()[0]
    scores = [
        r["completed_at"] for r in parquet(files, "scores").to_pylist() if r["research_id"] == rid
    ]

    def minute(t):
        return t.replace(second=0, microsecond=0)

    exported = [minute(t) - minute(session["dose_started_at"]) for t in scores]
    assert exported == [minute(t) - minute(real_dose) for t in real_scores]
    assert session["date"] - real_dose.date() == timedelta(
        days=safe_harbor.shift_days(wide_key, ada.pk)
    )


def test_research_ids_and_shifts_depend_on_the_key_and_reveal_nothing_of_each_other():
    assert safe_harbor.research_id(KEY, 7) != safe_harbor.research_id(b"another key", 7)
    assert safe_harbor.research_id(KEY, 7) != safe_harbor.research_id(KEY, 8)
    shifts = [safe_harbor.shift_days(KEY, pid) for pid in range(1, 3001)]
    assert 0 not in shifts
    assert min(shifts) >= -365 and max(shifts) <= 365
    assert sum(s < 0 for s in shifts) > 1300 and sum(s > 0 for s in shifts) > 1300
    assert len({safe_harbor.research_id(KEY, pid) for pid in range(1, 3001)}) == 3000


def test_no_identifier_column_survives():
    research = safe_harbor.deidentify(hand_made_dataset(), KEY)
    for table in TABLES:
        columns = set(getattr(research, table).columns)
        assert not columns & {"patient_id", "session_id", "plan_id", "clinic_id", "birth_date"}
        assert "zip" not in columns
    patients = research.patients.set_index("research_id")
    old = patients.loc[safe_harbor.research_id(KEY, 8)]
    assert old["age"] == "90+" and pd.isna(old["birth_year"])
    assert patients.loc[safe_harbor.research_id(KEY, 7)]["birth_year"] == 1960


def test_the_birth_year_goes_once_the_patient_is_90_on_the_day_of_export():
    research = safe_harbor.deidentify(hand_made_dataset(), KEY, today=date(2050, 5, 17))
    patient = research.patients.set_index("research_id").loc[safe_harbor.research_id(KEY, 7)]
    assert patient["age"] == "63"  # at the first dose
    assert pd.isna(patient["birth_year"])


def test_an_empty_cohort_exports_empty_tables_with_their_columns(clinic):
    research = safe_harbor.deidentify(load(Cohort(clinic_id=clinic.pk)), KEY)
    files = writers.export_files(research, writers.FORMATS, consent.LeftOut(0, 11))
    for table in TABLES:
        table_read = pq.read_table(io.BytesIO(files[f"{table}.parquet"]))
        assert table_read.num_rows == 0
        assert table_read.column_names == [c.name for c in COLUMNS[table]]
    assert files["fhir/Patient.ndjson"] == b""


# --- FHIR ------------------------------------------------------------------------------------


def test_ndjson_lines_parse_and_validate_as_fhir_r4(people, wide_key, researcher, as_user):
    files = download(as_user(researcher))
    counts = {}
    for kind in ("Patient", "Observation", "MedicationAdministration"):
        resources = ndjson(files, kind)
        counts[kind] = len(resources)
        for resource in resources:
            assert resource["resourceType"] == kind
            get_fhir_model_class(kind).model_validate(resource)
    assert counts == {"Patient": 3, "Observation": 5, "MedicationAdministration": 1}
    patients = {p["id"]: p for p in ndjson(files, "Patient")}
    ada = patients[safe_harbor.research_id(wide_key, people["ada"].pk)]
    assert ada["birthDate"] == "1985"
    assert "name" not in ada and "identifier" not in ada and "address" not in ada
    assert "birthDate" not in patients[safe_harbor.research_id(wide_key, people["beatrix"].pk)]
    phq9 = [o for o in ndjson(files, "Observation") if o["code"].get("coding")]
    assert {o["code"]["coding"][0]["code"] for o in phq9} >= {"44261-6"}  # PHQ-9 total
    dose = ndjson(files, "MedicationAdministration")[0]
    assert dose["subject"]["reference"] == f"Patient/{ada['id']}"
    assert dose["dosage"]["dose"]["unit"] == "mg"
    assert dose["dosage"]["route"]["coding"][0]["code"] == "47625008"
    sessions = parquet(files, "sessions").to_pylist()
    assert datetime.fromisoformat(dose["effectiveDateTime"]) == sessions[0]["dose_started_at"]


# --- audit, permissions, clinics -------------------------------------------------------------


def test_the_export_is_audited_without_any_patient_id(people, researcher, as_user):
    download(as_user(researcher), indication="trd", from_year="2020", age_band="40-49")
    event = AuditEvent.objects.get(action="export", object_type="registry_export")
    assert event.actor == researcher and event.role == "researcher"
    assert event.patient is None
    assert event.changes["formats"] == ["parquet", "csv", "ndjson"]
    assert event.changes["rows"] == {
        "patients": 1,
        "sessions": 1,
        "adverse_events": 1,
        "scores": 3,
    }
    assert event.changes["left_out_without_consent"] == 0
    assert event.changes["cohort"]["indication"] == "trd"
    assert event.changes["cohort"]["start"] == "2020-01-01"
    assert event.changes["cohort"]["min_age"] == 40 and event.changes["cohort"]["max_age"] == 49
    assert event.changes["left_out_for_implausible_dates"] == 0
    assert set(event.changes) == {
        "cohort",
        "formats",
        "rows",
        "left_out_without_consent",
        "left_out_for_implausible_dates",
        "key",
    }
    text = json.dumps(event.changes)
    for patient in people.values():
        assert safe_harbor.research_id(safe_harbor.installation_key(), patient.pk) not in text


@pytest.mark.parametrize("role", ["researcher", "prescriber", "clinic_admin"])
def test_the_researcher_prescriber_and_clinic_admin_may_export(role, staff, people, as_user):
    client = as_user(staff[role])
    assert client.get(reverse("registry-export")).status_code == 200
    assert "patients.csv" in download(client, formats=["csv"])


@pytest.mark.parametrize("role", ["nurse", "coordinator"])
def test_the_nurse_and_coordinator_may_not(role, staff, people, as_user):
    client = as_user(staff[role])
    assert client.get(reverse("registry-export")).status_code == 403
    response = client.post(reverse("registry-export"), {"formats": ["csv"]})
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(object_type="registry_export").exists()


def test_another_clinics_patients_never_appear(people, wide_key, researcher, as_user):
    files = download(as_user(researcher))
    ids = set(parquet(files, "patients").column("research_id").to_pylist())
    assert ids == {
        safe_harbor.research_id(wide_key, people[n].pk) for n in ("ada", "beatrix", "cyrus")
    }
    grace = safe_harbor.research_id(wide_key, people["grace"].pk)
    assert all(grace.encode() not in content for content in files.values())
    assert len(parquet(files, "scores")) == 5


def test_the_cohort_form_filters_and_refuses_a_backward_range(people, researcher, as_user):
    client = as_user(researcher)
    files = download(client, sex="male", formats=["csv"])
    assert files["patients.csv"].decode().count("\n") == 2  # header and Cyrus
    response = client.post(
        reverse("registry-export"), {"from_year": "2025", "to_year": "2024", "formats": ["csv"]}
    )
    assert response.status_code == 200
    assert "The last year comes before the first." in response.content.decode()
    response = client.post(reverse("registry-export"), {})
    assert "Choose at least one format." in response.content.decode()


def test_the_command_writes_a_directory_and_is_audited(people, clinic, tmp_path):
    out = tmp_path / "export"
    call_command("registry_export", "--clinic", clinic.name, "--out", str(out), "--format", "csv")
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "adverse_events.csv",
        "data_dictionary.json",
        "patients.csv",
        "scores.csv",
        "sessions.csv",
    ]
    event = AuditEvent.objects.get(object_type="registry_export")
    assert event.role == "system" and event.clinic_id == clinic.pk
    assert event.changes["formats"] == ["csv"]
    assert "left out for want of that consent: 0." in (out / "README.md").read_text()
    with pytest.raises(CommandError, match="not an empty directory"):
        call_command("registry_export", "--clinic", clinic.name, "--out", str(out))
    with pytest.raises(CommandError, match="No clinic"):
        call_command("registry_export", "--clinic", "Nowhere", "--out", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="unknown: xlsx"):
        call_command(
            "registry_export",
            "--clinic",
            clinic.name,
            "--out",
            str(tmp_path / "y"),
            "--format",
            "csv,xlsx",
        )


# --- research-registry consent ---------------------------------------------------------------


@pytest.fixture
def consents(clinic, nurse, monkeypatch):
    """Five patients with a PHQ-9 each and their research-registry consent records: granted;
    never asked; granted, then withdrawn; withdrawn, then granted again; and a withdrawal
    signed before the grant but entered after it (the latest signed counts)."""
    monkeypatch.setattr(actions, "installation_key", lambda: KEY)
    who = as_nurse(nurse, clinic)
    patients = {}
    for name, records in [
        ("granted", [("granted", 30)]),
        ("never", []),
        ("withdrawn", [("granted", 30), ("withdrawn", 5)]),
        ("regranted", [("withdrawn", 30), ("granted", 5)]),
        ("entered_late", [("granted", 30), ("withdrawn", 40)]),
    ]:
        patient = make_patient(nurse, clinic, given_name=name.title(), family_name="Consent")
        for decision, days_ago in records:
            research_consent(nurse, patient, decision, days_ago)
        measures.record_staff_response(who, patient, "phq9", PHQ9, timezone.now())
        patients[name] = patient
    return patients


def rids(files, table):
    return set(parquet(files, table).column("research_id").to_pylist())


def readme(files):
    return files["README.md"].decode()


def consent_paragraph(client):
    html = client.get(reverse("registry-export")).content.decode()
    return html[html.index('<p id="consent">') :].split("</p>")[0]


def test_only_patients_whose_latest_research_consent_is_granted_are_exported(
    consents, researcher, as_user
):
    files = download(as_user(researcher))
    rid = {name: safe_harbor.research_id(KEY, p.pk) for name, p in consents.items()}
    included = {rid["granted"], rid["regranted"], rid["entered_late"]}
    assert rids(files, "patients") == included
    assert rids(files, "scores") == included
    assert {p["id"] for p in ndjson(files, "Patient")} == included
    for name in ("never", "withdrawn"):
        assert all(rid[name].encode() not in content for content in files.values()), name


def test_a_patient_who_withdrew_is_in_no_file_of_the_export(
    people, wide_key, nurse, researcher, as_user
):
    ada = people["ada"]
    research_consent(nurse, ada, "withdrawn", days_ago=0)
    files = download(as_user(researcher))
    gone = safe_harbor.research_id(wide_key, ada.pk)
    for name, text in readable(files):
        assert gone.lower() not in text, f"Ada's research id is in {name}"
    # Ada had the only session, adverse event and GAD-7: their tables are empty now.
    assert parquet(files, "sessions").num_rows == 0
    assert parquet(files, "adverse_events").num_rows == 0
    assert ndjson(files, "MedicationAdministration") == []
    assert len(ndjson(files, "Observation")) == 2  # Beatrix's two PHQ-9s
    event = AuditEvent.objects.get(object_type="registry_export")
    assert event.changes["left_out_without_consent"] == 1
    assert event.changes["rows"]["patients"] == 2


def test_the_page_and_the_readme_say_how_many_were_left_out(
    consents, clinic, nurse, prescriber, researcher, as_user
):
    staff, research = as_user(prescriber), as_user(researcher)
    # Staff who may see the patients behind the figures see the exact count.
    assert "<strong>2</strong>" in consent_paragraph(staff)
    assert "Clinic policy" in consent_paragraph(staff)
    assert "left out for want of that consent: 2." in readme(download(staff))
    # For the cohort chosen: the five are all female, so no man is left out.
    assert "left out for want of that consent: 0." in readme(download(staff, sex="male"))
    # The researcher sees no count under 11.
    assert "&lt; 11" in consent_paragraph(research)
    assert "<strong>2</strong>" not in consent_paragraph(research)
    assert "left out for want of that consent: < 11." in readme(download(research))
    for i in range(9):
        make_patient(nurse, clinic, family_name=f"Unasked{i}")
    assert "<strong>11</strong>" in consent_paragraph(research)
    assert "left out for want of that consent: 11." in readme(download(research))


def test_the_consent_check_does_not_grow_with_patients(
    consents, clinic, nurse, prescriber, as_user
):
    client = as_user(prescriber)
    download(client)

    def queries():
        with CaptureQueriesContext(connection) as page:
            client.get(reverse("registry-export"))
        with CaptureQueriesContext(connection) as files:
            download(client)
        return len(page), len(files)

    few = queries()
    for i in range(6):
        patient = make_patient(nurse, clinic, family_name=f"More{i}")
        research_consent(nurse, patient, "granted" if i % 2 else "withdrawn")
    assert queries() == few
