"""A measurement's or a consent's date out of bounds (issue 13: 0001-01-01 was a server error,
a time no database holds in a time zone ahead of UTC): refused with a message on the page and
by the action; nothing is written."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from ketacare.bounds import OutOfBounds
from ketacare.patients import actions as patients
from ketacare.patients.models import BodyMeasurement, ConsentRecord
from tests.conftest import actor

BOUNDS_MESSAGE = "must be between 1900-01-01 and"

# Fourteen hours ahead of UTC: midnight on 0001-01-01 there is a time UTC cannot hold.
FAR_EAST = "Pacific/Kiritimati"


@pytest.fixture
def far_east(settings):
    settings.TIME_ZONE = FAR_EAST


def test_a_measurement_dated_out_of_bounds_is_refused(patient, nurse, clinic, as_user):
    url = reverse("measurement-new", args=[patient.pk])
    data = {"measured_on": "0001-01-01", "weight_kg": "70", "height_cm": "170"}
    response = as_user(nurse).post(url, data)
    assert response.status_code == 200
    assert BOUNDS_MESSAGE in " ".join(response.context["form"].errors["measured_on"])
    with pytest.raises(OutOfBounds, match=f"The measurement date {BOUNDS_MESSAGE}"):
        patients.record_measurement(
            actor(nurse, clinic), patient, date(1, 1, 1), Decimal(70), Decimal(170)
        )
    assert BodyMeasurement.objects.filter(patient=patient).count() == 1  # the registration's


def test_a_consent_signed_out_of_bounds_is_refused(far_east, patient, nurse, clinic, as_user):
    data = {
        "kind": "treatment_ketamine",
        "decision": "granted",
        "version": "1",
        "signed_at": "0001-01-01T00:00",
        "signed_by": patient.full_name,
    }
    response = as_user(nurse).post(reverse("consent-new", args=[patient.pk]), data)
    assert response.status_code == 200
    assert BOUNDS_MESSAGE in " ".join(response.context["form"].errors["signed_at"])
    with pytest.raises(OutOfBounds, match=f"The signing date {BOUNDS_MESSAGE}"):
        patients.record_consent(
            actor(nurse, clinic),
            patient,
            {**data, "signed_at": datetime(1, 1, 1, tzinfo=UTC)},
        )
    assert not ConsentRecord.objects.filter(patient=patient).exists()
