"""The demo clinic: fictional staff and patients, created through the same actions as real
use, so the audit trail and MRNs look as they would in a clinic. Idempotent."""

import random
from collections.abc import Collection
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ketacare.accounts.actions import create_clinic, create_staff, update_clinic_details
from ketacare.accounts.models import Clinic, User
from ketacare.accounts.passwords import machine_secret
from ketacare.accounts.permissions import Role
from ketacare.actor import SYSTEM, Actor
from ketacare.clinical.instruments import get as get_instrument
from ketacare.inventory.models import Registration
from ketacare.measures import actions as measure_actions
from ketacare.measures.models import PatientLink, QuestionnaireResponse
from ketacare.patients import actions as patient_actions
from ketacare.patients.models import ConsentRecord, Patient
from ketacare.planning.models import Evaluation
from ketacare.portal.demo import seed as seed_portal
from ketacare.referrals.demo import seed as seed_referrals
from ketacare.referrals.models import Referral
from ketacare.reminders.demo import seed as seed_reminders
from ketacare.scheduling.models import Chair
from ketacare.treatments.models import TreatmentSession
from ketacare.web.demo_inventory import seed_inventory
from ketacare.web.demo_planning import seed_planning
from ketacare.web.demo_scheduling import seed_scheduling
from ketacare.web.demo_sessions import seed_sessions

DEMO_CLINIC = "Riverside Ketamine Clinic"
OTHER_CLINIC = "Harbor Mental Health"
DEMO_PASSWORD = "ketacare-demo-2026"

DEMO_STAFF = [
    ("prescriber", "Maya", "Okafor", Role.PRESCRIBER),
    ("nurse", "Daniel", "Reyes", Role.NURSE),
    # A second nurse on the rota: four chairs of dosed patients are more than one nurse may
    # watch (the booking policy's nurse ratio).
    ("nurse2", "Amara", "Nwosu", Role.NURSE),
    ("coordinator", "Priya", "Shah", Role.COORDINATOR),
    ("admin", "Grace", "Lindqvist", Role.CLINIC_ADMIN),
    ("researcher", "Tomás", "Ferreira", Role.RESEARCHER),
]
# A nurse of another clinic: sign in as her to see that Riverside's patients stay hidden.
OTHER_STAFF = ("harbor.nurse", "Ines", "Duarte", Role.NURSE)

GIVEN = [
    "Alex",
    "Jordan",
    "Sam",
    "Taylor",
    "Morgan",
    "Casey",
    "Riley",
    "Jamie",
    "Avery",
    "Quinn",
    "Elena",
    "Marcus",
    "Aisha",
    "Hiroshi",
    "Fatima",
    "Liam",
    "Sofia",
    "Noah",
    "Zoë",
    "Mateo",
    "Chloé",
    "Kwame",
    "Ingrid",
    "Ravi",
]
FAMILY = [
    "Nguyen",
    "García",
    "Smith",
    "O'Brien",
    "Kowalski",
    "Haddad",
    "Johnson",
    "Müller",
    "Okonkwo",
    "Rossi",
    "Andersson",
    "Patel",
    "Kim",
    "Novak",
    "Silva",
    "Brown",
    "Dubois",
    "Yamamoto",
    "Walker",
    "Ivanova",
]
ALLERGIES = [
    "NKDA",
    "NKDA",
    "NKDA",
    "Penicillin — rash",
    "Sulfa drugs — hives",
    "Latex — contact dermatitis",
]
MEDICATIONS = [
    "Sertraline 100 mg daily",
    "Bupropion XL 300 mg daily",
    "Venlafaxine XR 150 mg daily\nLamotrigine 100 mg daily",
    "Escitalopram 20 mg daily\nTrazodone 50 mg at night",
    "",
]


def seed_demo(patient_count: int = 40) -> list[tuple[str, str, str]]:
    """Create the demo clinics, staff and patients if missing; returns (user, role, clinic)."""
    with transaction.atomic():
        clinic = Clinic.objects.filter(name=DEMO_CLINIC).first() or create_clinic(
            SYSTEM, DEMO_CLINIC
        )
        other = Clinic.objects.filter(name=OTHER_CLINIC).first() or create_clinic(
            SYSTEM, OTHER_CLINIC
        )
        accounts = []
        for username, first, last, role in DEMO_STAFF:
            ensure_staff(clinic, username, first, last, role)
            accounts.append((username, role.label, clinic.name))
        if not clinic.address:
            _seed_clinic_details(clinic)
        username, first, last, role = OTHER_STAFF
        ensure_staff(other, username, first, last, role)
        accounts.append((username, role.label, other.name))
        if not Patient.objects.filter(clinic=clinic).exists():
            _seed_patients(clinic, patient_count)
        # Separately, so a demo database made before the measures existed gets them too.
        if not QuestionnaireResponse.objects.filter(patient__clinic=clinic).exists():
            _seed_measures(clinic)
        # Likewise, so a demo database made before the planning app gets evaluations and plans.
        if not Evaluation.objects.filter(clinic=clinic).exists():
            seed_planning(clinic, DEMO_PASSWORD)
        # After planning: the week's dispenses follow the signed plans.
        if not Registration.objects.filter(clinic=clinic).exists():
            seed_inventory(clinic, DEMO_PASSWORD)
        # Today's chair board, one session in every state, from today's plans and stock.
        if not TreatmentSession.objects.filter(clinic=clinic).exists():
            seed_sessions(clinic, DEMO_PASSWORD)
        # After the board: the week's dosing appointments are the planned sessions not on it.
        if not Chair.objects.filter(clinic=clinic).exists():
            seed_scheduling(clinic)
            # The reminders due by now are in the outbox; the demo's worker sends the rest.
            seed_reminders(clinic)
        # The front door: an urgent, a new and a contacted self-referral in the intake queue.
        if not Referral.objects.filter(clinic=clinic).exists():
            seed_referrals(clinic)
        # The patient portal: a patient with an appointment to come and a questionnaire due.
        seed_portal(clinic)
        if not Patient.objects.filter(clinic=other).exists():
            _seed_patients(other, 5, seed=7)
    return accounts


def _seed_clinic_details(clinic: Clinic) -> None:
    """Address and phone for the REMS form; the demo prescriber on call for safety alerts."""
    admin = User.objects.get(memberships__clinic=clinic, memberships__role=Role.CLINIC_ADMIN)
    prescriber = User.objects.filter(
        memberships__clinic=clinic, memberships__role=Role.PRESCRIBER
    ).first()
    update_clinic_details(
        Actor(user=admin, role=Role.CLINIC_ADMIN.value, clinic=clinic, ip="127.0.0.1"),
        clinic,
        address="1200 River Road, Suite 4\nSpringfield, IL 62701",
        phone="+1 217 555 0142",
        on_call_prescriber_id=prescriber.pk if prescriber else None,
    )


def ensure_staff(clinic: Clinic, username: str, first: str, last: str, role: Role) -> None:
    """A demo login at the clinic with the demo password, unless the username exists."""
    if not User.objects.filter(username=username).exists():
        user = create_staff(
            SYSTEM,
            clinic=clinic,
            username=username,
            # Any password that passes the rules: the demo's own is set below.
            password=machine_secret(clinic),
            role=role,
            first_name=first,
            last_name=last,
            email=f"{username}@example.org",
            # The prescriber is on call: safety alerts reach them by text too (outbox/sms.log).
            mobile="+1 217 555 0199" if role == Role.PRESCRIBER else "",
            # A newcomer signs in straight away with the password the README prints.
            must_change_password=False,
        )
        set_demo_password(user)


def set_demo_password(user: User) -> None:
    """The demo's published password, set past the password rules on purpose: the rules refuse
    it (it names ketacare, and it is printed in the README), which is right for a real clinic's
    account; the demo's accounts are made to be signed in to by anyone trying ketacare."""
    user.set_password(DEMO_PASSWORD)
    user.save(update_fields=["password"])


def _seed_patients(clinic: Clinic, count: int, seed: int = 2026) -> None:
    rng = random.Random(seed)
    nurse = User.objects.filter(memberships__clinic=clinic, memberships__role=Role.NURSE).first()
    actor = Actor(user=nurse, role=Role.NURSE.value, clinic=clinic, ip="127.0.0.1")
    today = timezone.localdate()
    for i in range(count):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        sex = rng.choice(["female", "male", "female", "male", "intersex"])
        patient = patient_actions.create_patient(
            actor,
            {
                "given_name": given,
                "family_name": family,
                "date_of_birth": date(1950, 1, 1) + timedelta(days=rng.randint(0, 19000)),
                "sex_at_birth": sex,
                "gender_identity": rng.choice(["", "", "Woman", "Man", "Non-binary"]),
                "phone": f"+1 555 01{rng.randint(0, 99):02d} {rng.randint(1000, 9999)}",
                "email": f"{given.lower()}.{i}@example.org",
                "address": f"{rng.randint(1, 999)} Demo Street\nSpringfield",
                "emergency_contact_name": f"{rng.choice(GIVEN)} {family}",
                "emergency_contact_relationship": rng.choice(["Partner", "Parent", "Sibling"]),
                "emergency_contact_phone": f"+1 555 02{rng.randint(0, 99):02d} 0000",
                "allergies": rng.choice(ALLERGIES),
                "current_medications": rng.choice(MEDICATIONS),
                "weight_kg": Decimal(rng.randint(480, 1150)) / 10,
                "height_cm": Decimal(rng.randint(1520, 1930)) / 10,
                "measured_on": today - timedelta(days=rng.randint(30, 120)),
            },
        )
        if rng.random() < 0.5:
            patient_actions.record_measurement(
                actor,
                patient,
                today - timedelta(days=rng.randint(0, 20)),
                Decimal(rng.randint(480, 1150)) / 10,
                None,
            )
        signed = timezone.make_aware(
            datetime.combine(today - timedelta(days=rng.randint(20, 200)), datetime.min.time())
        ) + timedelta(hours=10)
        patient_actions.record_consent(
            actor,
            patient,
            {
                "kind": ConsentRecord.Kind.TREATMENT_KETAMINE,
                "decision": ConsentRecord.Decision.GRANTED,
                "version": "2026-01",
                "signed_at": signed,
                "signed_by": patient.full_name,
            },
        )
        # The research registry: most patients say yes, every tenth does not, and one who said
        # yes withdrew later (the research export leaves both out). No draws from rng here, so
        # the rest of the demo stays as it was.
        if i % 10 != 9:
            for decision, when in [(ConsentRecord.Decision.GRANTED, signed)] + (
                [(ConsentRecord.Decision.WITHDRAWN, signed + timedelta(days=14))] if i == 4 else []
            ):
                patient_actions.record_consent(
                    actor,
                    patient,
                    {
                        "kind": ConsentRecord.Kind.RESEARCH_REGISTRY,
                        "decision": decision,
                        "version": "2026-01",
                        "signed_at": when,
                        "signed_by": patient.full_name,
                    },
                )


# Weekly PHQ-9 totals over four months, by course: the shapes a ketamine program sees.
TRAJECTORIES = {
    "remitter": [21, 17, 12, 9, 7, 5, 4, 4, 3, 4, 3, 3, 4, 3, 2, 3],
    "responder": [19, 16, 13, 11, 9, 9, 8, 9, 8, 7, 8, 8, 7, 8, 7, 7],
    "relapse": [22, 15, 10, 8, 7, 8, 9, 12, 15, 16, 17, 16, 15, 17, 18, 17],
    "non_responder": [18, 18, 17, 16, 17, 16, 15, 16, 16, 15, 16, 17, 16, 15, 16, 16],
    "slow": [24, 23, 21, 20, 18, 17, 15, 14, 13, 12, 11, 10, 10, 9, 9, 8],
}


def _answers_for(
    instrument_id: str, total: int, rng: random.Random, keep_zero: Collection[int] = ()
) -> list[int]:
    """Item answers that add up to ``total`` (items listed in keep_zero stay 0)."""
    instrument = get_instrument(instrument_id)
    answers = [0] * len(instrument.items)
    open_items = [i for i in range(len(answers)) if i + 1 not in keep_zero]
    capacity = sum(instrument.items[i].max_value for i in open_items)
    for _ in range(min(total, capacity)):
        choices = [i for i in open_items if answers[i] < instrument.items[i].max_value]
        answers[rng.choice(choices)] += 1
    return answers


def _seed_measures(clinic: Clinic) -> None:
    rng = random.Random(99)
    nurse = User.objects.filter(memberships__clinic=clinic, memberships__role=Role.NURSE).first()
    prescriber = User.objects.filter(
        memberships__clinic=clinic, memberships__role=Role.PRESCRIBER
    ).first()
    actor = Actor(user=nurse, role=Role.NURSE.value, clinic=clinic, ip="127.0.0.1")
    start = timezone.now() - timedelta(weeks=16)
    patients = list(Patient.objects.filter(clinic=clinic).order_by("id")[:25])
    for n, patient in enumerate(patients):
        course = list(TRAJECTORIES)[n % len(TRAJECTORIES)]
        weeks = TRAJECTORIES[course][: 8 + n % 9]
        for week, total in enumerate(weeks):
            taken = start + timedelta(weeks=week, hours=rng.randint(0, 48))
            total = max(0, min(27, total + rng.randint(-1, 1)))
            measure_actions.record_staff_response(
                actor, patient, "phq9", _answers_for("phq9", total, rng, keep_zero=(9,)), taken
            )
            if n % 3 == 0:
                gad = max(0, min(21, round(total * 0.8) + rng.randint(-2, 2)))
                measure_actions.record_staff_response(
                    actor, patient, "gad7", _answers_for("gad7", gad, rng), taken
                )
        if n % 7 == 2:
            for week, total in enumerate([52, 45, 38, 33, 30, 26]):
                measure_actions.record_staff_response(
                    actor,
                    patient,
                    "pcl5",
                    _answers_for("pcl5", total, rng),
                    start + timedelta(weeks=2 * week),
                )
    # A patient who reported thoughts of self-harm this morning: an open safety alert.
    alerted = patients[2 % len(patients)]
    measure_actions.record_staff_response(
        actor,
        alerted,
        "phq9",
        [*_answers_for("phq9", 14, rng, keep_zero=(9,))[:8], 1],
        timezone.now() - timedelta(hours=3),
    )
    # One raised and acknowledged last month, to show the trail.
    earlier = measure_actions.record_staff_response(
        actor,
        patients[7 % len(patients)],
        "phq9",
        [2, 2, 2, 1, 1, 2, 1, 1, 1],
        start + timedelta(weeks=12),
    )
    prescriber_actor = Actor(user=prescriber, role=Role.PRESCRIBER.value, clinic=clinic)
    for alert in earlier.alerts.all():
        measure_actions.acknowledge_alert(
            prescriber_actor,
            alert,
            "Called the patient the same day: passive thoughts, no plan or intent. Safety plan "
            "reviewed, 988 given, next infusion kept.",
        )


def demo_patient_link() -> str:
    """A fresh PHQ-9 link for the first demo patient, for a newcomer to open."""
    clinic = Clinic.objects.get(name=DEMO_CLINIC)
    patient = Patient.objects.filter(clinic=clinic).order_by("id").first()
    assert patient is not None, "the demo clinic has patients"
    coordinator = User.objects.filter(
        memberships__clinic=clinic, memberships__role=Role.COORDINATOR
    ).first()
    actor = Actor(user=coordinator, role=Role.COORDINATOR.value, clinic=clinic)
    _, url = measure_actions.create_link(actor, patient, "phq9", PatientLink.Channel.IN_CLINIC)
    return url
