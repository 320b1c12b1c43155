"""The registry's column reader gives the same values as the ORM, with the kinds it promises,
on both databases: missing values, microseconds, dates, strings with commas and newlines,
decimals, and numbers read out of JSON."""

from datetime import UTC, datetime

import pandas as pd
import pytest
from django.db.models import F
from django.db.models.fields.json import KT

from ketacare.patients.models import BodyMeasurement, Patient
from ketacare.planning.models import Evaluation
from ketacare.registry.columns import read
from tests.conftest import make_patient


@pytest.fixture
def people(clinic, nurse):
    first = make_patient(nurse, clinic, address="12 Crescent Road\nCambridge, MA 02139")
    second = make_patient(nurse, clinic, given_name="Bo", address="", height_cm=None)
    stamp = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    Patient.objects.filter(pk=first.pk).update(created_at=stamp)
    return first, second, stamp


@pytest.mark.django_db
def test_values_and_kinds_match_the_orm(people):
    first, second, stamp = people
    frame = read(
        Patient.objects.filter(pk__in=[first.pk, second.pk])
        .order_by("pk")
        .values_list("id", "address", "date_of_birth", "created_at"),
        {"id": "int", "address": "str", "born": "date", "created": "stamp"},
    )
    assert list(frame.columns) == ["id", "address", "born", "created"]
    assert frame["id"].dtype == "int64"
    assert isinstance(frame["created"].dtype, pd.DatetimeTZDtype)
    assert frame["created"][0] == pd.Timestamp(stamp)  # microseconds kept, in UTC
    assert frame["address"].tolist() == ["12 Crescent Road\nCambridge, MA 02139", ""]
    assert frame["born"].tolist() == [first.date_of_birth, second.date_of_birth]


@pytest.mark.django_db
def test_missing_values_and_decimals(people):
    first, second, _ = people
    frame = read(
        BodyMeasurement.objects.filter(patient__in=[first, second])
        .order_by("patient_id")
        .values_list("patient_id", "weight_kg", "height_cm"),
        {"patient_id": "int", "weight": "float", "height": "float"},
    )
    assert frame["weight"].tolist() == [61.5, 61.5]
    assert frame["height"][0] == 165.0 and pd.isna(frame["height"][1])


@pytest.mark.django_db
def test_numbers_and_strings_out_of_json(clinic, patient, nurse):
    Evaluation.objects.create(
        clinic=clinic,
        patient=patient,
        answers={"indication": "trd", "adequate_antidepressant_trials": 3},
        created_by=nurse,
    )
    frame = read(
        Evaluation.objects.values_list(
            F("patient_id"),
            KT("answers__indication"),
            KT("answers__adequate_antidepressant_trials"),
            KT("answers__missing"),
        ),
        {"patient_id": "int", "indication": "str", "trials": "str", "missing": "str"},
    )
    assert frame.iloc[0].tolist() == [patient.pk, "trd", "3", None]


@pytest.mark.django_db
def test_no_rows_give_empty_typed_columns(clinic):
    frame = read(
        Patient.objects.filter(clinic=clinic).values_list("id", "created_at"),
        {"id": "int", "created": "stamp"},
    )
    assert frame.empty and list(frame.columns) == ["id", "created"]
    assert isinstance(frame["created"].dtype, pd.DatetimeTZDtype)
