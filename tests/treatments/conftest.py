"""A patient with a signed plan, consent, stock to dispense from, and the first planned
session on the board (chair 3)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ketacare.accounts.models import Clinic
from ketacare.accounts.permissions import Role
from ketacare.inventory import actions as inventory
from ketacare.patients import actions as patient_actions
from ketacare.planning import actions as planning
from ketacare.treatments import actions
from ketacare.treatments.actions import Checklist, Supply
from tests.conftest import PASSWORD, actor
from tests.inventory.conftest import DEA_NUMBER
from tests.planning.conftest import as_prescriber, iv_request, signed_evaluation

READY = Checklist(
    fasting_as_instructed=True,
    escort_arranged=True,
    pregnancy_test="not_applicable",
    questionnaires_done=True,
)
NORMAL = {"systolic": 124, "diastolic": 78, "heart_rate": 72, "spo2": 98, "respiratory_rate": 14}
HIGH_BP = {**NORMAL, "systolic": 152, "diastolic": 94}


def as_nurse(nurse, clinic):
    return actor(nurse, clinic, Role.NURSE)


def consent(who, patient, kind, decision="granted"):
    patient_actions.record_consent(
        who,
        patient,
        {
            "kind": kind,
            "version": "2026-1",
            "decision": decision,
            "signed_at": timezone.now(),
            "signed_by": patient.full_name,
        },
    )


@pytest.fixture
def stock(clinic, clinic_admin, nurse):
    """A registration with a safe holding 400 mL of ketamine 10 mg/mL and 24 esketamine devices."""
    admin = actor(clinic_admin, clinic, Role.CLINIC_ADMIN)
    registration = inventory.create_registration(admin, DEA_NUMBER, "Riverside", "")
    safe = inventory.add_location(admin, registration.pk, "Main safe", "safe")
    lots = {}
    for ndc, name, drug, form, mg, unit, units in [
        ("00000-0101-20", "Ketamine 10 mg/mL 20 mL", "racemic_ketamine", "vial", "10", "mL", "400"),
        (
            "00000-0228-02",
            "Esketamine 28 mg device",
            "esketamine",
            "nasal_device",
            "28",
            "device",
            "24",
        ),
    ]:
        product = inventory.add_product(
            admin,
            ndc=ndc,
            name=name,
            drug=drug,
            form=form,
            mg_per_unit=Decimal(mg),
            unit=unit,
            units_per_package=Decimal(1),
        )
        lots[drug] = inventory.receive(
            as_nurse(nurse, clinic),
            registration.pk,
            product_id=product.pk,
            lot_number=f"L-{drug[:3]}",
            expires_on=timezone.localdate() + timedelta(days=300),
            location_id=safe.pk,
            units=units,
            supplier="Acme",
            invoice="1",
        ).lot
    return registration, safe, lots


@pytest.fixture(autouse=True)
def open_every_day(clinic):
    """The test clinic treats every day, so that 'today' is always a clinic day."""
    Clinic.objects.filter(pk=clinic.pk).update(treatment_days="0123456")
    clinic.treatment_days = "0123456"


def make_session(prescriber, nurse, clinic, patient, request=None, drug="racemic_ketamine"):
    """The first session of a new signed plan, on today's board."""
    evaluation = signed_evaluation(prescriber, clinic, patient)
    who = as_prescriber(prescriber, clinic)
    # Consent first: a plan is signed only with the patient's consent to the treatment.
    kind = "treatment_ketamine" if drug == "racemic_ketamine" else "treatment_esketamine"
    consent(as_nurse(nurse, clinic), patient, kind)
    plan = planning.sign_plan(
        who,
        planning.draft_plan(
            who,
            evaluation.pk,
            request or iv_request(vial_mg_per_ml=Decimal("10"), start_date=timezone.localdate()),
        ).pk,
        PASSWORD,
    )
    if drug == "esketamine":
        consent(as_nurse(nurse, clinic), patient, "rems_enrollment")
    return actions.open_session(as_nurse(nurse, clinic), plan.sessions.first().pk, "Chair 3")


@pytest.fixture
def session(prescriber, nurse, clinic, patient):
    """An IV ketamine session, scheduled."""
    return make_session(prescriber, nurse, clinic, patient)


def supply(stock, drug="racemic_ketamine", units="20"):
    registration, safe, lots = stock
    return Supply(registration.pk, lots[drug].pk, safe.pk, units)
