"""An action happens at its actor's time (``Actor.clock``): every timestamp it writes (the
rows' and the audit events' ``occurred_at``) and every "today" it judges by come from that
clock, never from the process's. Here the clock is set to a day long past, so that the real
clock could not have written any of them, and each action runs at its own minute of that day."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.core import mail
from django.db import models
from django.utils import timezone

from ketacare.accounts.models import Clinic
from ketacare.accounts.permissions import Role
from ketacare.actor import Actor, FixedClock, system_now
from ketacare.audit.models import AuditEvent
from ketacare.inventory import actions as inventory
from ketacare.inventory.actions import Signature
from ketacare.measures import actions as measures
from ketacare.measures.models import PatientLink
from ketacare.outbox import DISCARD
from ketacare.patients import actions as patients
from ketacare.planning import actions as planning
from ketacare.planning.actions import PlanRequest
from ketacare.treatments import actions as treatments
from ketacare.treatments.actions import Checklist, Supply
from ketacare.web.demo_planning import CLEAR_EVALUATION
from tests.conftest import PASSWORD, PATIENT_DATA, actor
from tests.measures.helpers import PHQ9_ITEM9, contact_consent, token_of

# 9:00 in the clinic's time zone on a day long gone.
PAST = timezone.make_aware(datetime(2021, 3, 9, 9, 0))
READY = Checklist(True, True, "not_applicable", True)
NORMAL = {"systolic": 124, "diastolic": 78, "heart_rate": 72, "spo2": 98, "respiratory_rate": 14}

Key = tuple[str, int, str]  # model label, row id, field name


def at(minute: int) -> datetime:
    return PAST + timedelta(minutes=minute)


def _times() -> dict[Key, datetime]:
    """Every date and time stored in a ketacare table, by row and field."""
    found = {}
    for config in apps.get_app_configs():
        if not config.name.startswith("ketacare."):
            continue
        for model in config.get_models():
            fields = [
                f.attname
                for f in model._meta.concrete_fields
                if isinstance(f, models.DateTimeField)
            ]
            for row in model._base_manager.values("pk", *fields):
                for name in fields:
                    if row[name] is not None:
                        found[(model._meta.label_lower, row["pk"], name)] = row[name]
    return found


def _written(before: dict[Key, datetime]) -> dict[Key, datetime]:
    return {key: value for key, value in _times().items() if before.get(key) != value}


def assert_written_at(moment: datetime, written: dict[Key, datetime], **computed: datetime):
    """What was written holds only ``moment`` (or, for a ``computed`` field such as an expiry,
    the value given), and includes the audit trail's record of it."""
    assert any(label == "audit.auditevent" for label, _, _ in written), "nothing audited"
    wrong = {key: value for key, value in written.items() if value != computed.get(key[2], moment)}
    assert wrong == {}, f"written at another time than {moment}"


def run(who: Actor, minute: int, action, *args, **kwargs):
    """``action`` by ``who`` at ``minute`` of the past day; checks every time it wrote."""
    before = _times()
    result = action(who.at(at(minute)), *args, **kwargs)
    assert_written_at(at(minute), _written(before))
    return result


@pytest.fixture
def team(clinic, staff):
    """Actors for each role, at the real time until ``run`` sets their clock back."""
    Clinic.objects.filter(pk=clinic.pk).update(treatment_days="0123456")
    clinic.refresh_from_db()
    return {
        role: actor(staff[role], clinic, Role(role))
        for role in ("nurse", "prescriber", "clinic_admin", "coordinator")
    }


def test_a_patient_a_plan_a_session_and_its_ledger_are_written_at_the_actors_time(
    team, prescriber, django_capture_on_commit_callbacks
):
    nurse, doctor, admin = team["nurse"], team["prescriber"], team["clinic_admin"]
    # The patient, a weight measured "today" (the clock's day), an edit and a consent.
    patient = run(nurse, 0, patients.create_patient, dict(PATIENT_DATA))
    assert patient.measurements.get().measured_on == PAST.date()
    run(nurse, 1, patients.update_patient, patient.pk, {"phone": "+1 555 0100"}, patient.version)
    consent = {"version": "2026-1", "decision": "granted", "signed_by": "Ada", "signed_at": at(2)}
    run(nurse, 2, patients.record_consent, patient, {**consent, "kind": "treatment_ketamine"})
    # The evaluation and a plan that starts on the clock's day (the real today is years on).
    evaluation = run(doctor, 3, planning.start_evaluation, patient, dict(CLEAR_EVALUATION), "")
    run(doctor, 4, planning.complete_evaluation, evaluation.pk)
    run(doctor, 5, planning.sign_evaluation, evaluation.pk, PASSWORD)
    request = PlanRequest("iv_ketamine", Decimal("0.5"), PAST.date(), Decimal("10"), 40)
    plan = run(doctor, 6, planning.draft_plan, evaluation.pk, request)
    plan = run(doctor, 7, planning.sign_plan, plan.pk, PASSWORD)
    assert [s.date for s in plan.sessions.all()][:1] == [PAST.date()]
    session = run(nurse, 8, treatments.open_session, plan.sessions.get(number=1).pk, "Chair 1")
    # Stock, received that morning.
    registration = run(admin, 9, inventory.create_registration, "AB1234563", "Riverside", "")
    safe = run(admin, 10, inventory.add_location, registration.pk, "Main safe", "safe")
    product = run(
        admin,
        11,
        inventory.add_product,
        ndc="00000-0101-20",
        name="Ketamine 10 mg/mL 20 mL",
        drug="racemic_ketamine",
        form="vial",
        mg_per_unit=Decimal(10),
        unit="mL",
        units_per_package=Decimal(1),
    )
    lot = run(
        nurse,
        12,
        inventory.receive,
        registration.pk,
        product_id=product.pk,
        lot_number="L-1",
        expires_on=PAST.date() + timedelta(days=300),
        location_id=safe.pk,
        units="100",
        supplier="Acme",
        invoice="1",
    ).lot
    # The session: check-in on its day, the gate, the dose dispensed, the infusion, discharge.
    run(nurse, 20, treatments.check_in, session.pk, READY)
    run(nurse, 25, treatments.record_observation, session.pk, NORMAL)
    supply = Supply(registration.pk, lot.pk, safe.pk, "20")
    dosed = run(nurse, 30, treatments.start_dose, session.pk, supply)
    run(nurse, 50, treatments.record_observation, session.pk, NORMAL)
    run(nurse, 70, treatments.infusion_step, session.pk, "infusion_end")
    remainder = dosed.dispense.quantity_mg - dosed.dose_mg
    run(
        nurse,
        80,
        inventory.waste,
        registration.pk,
        dispense_id=dosed.dispense_id,
        units=remainder / 10,
        reason="Remainder of the vial",
        witness=Signature(prescriber.get_username(), PASSWORD),
    )
    run(nurse, 200, treatments.record_observation, session.pk, {**NORMAL, "moaas": 5, "cadss": 0})
    done = run(
        nurse,
        205,
        treatments.discharge,
        session.pk,
        dissociation_resolved=True,
        responsible_adult_present=True,
        password=PASSWORD,
    )
    assert (done.checked_in_at, done.dose_started_at, done.dose_ended_at) == (
        at(20),
        at(30),
        at(70),
    )
    assert (done.ready_at, done.discharged_at, done.updated_at) == (at(200), at(205), at(205))
    # A questionnaire link shown in clinic, answered by the patient: the patient's own clock
    # is the link's (its expiry is the clock's, not the real time, which is long past it).
    hours = timedelta(hours=settings.KETACARE_LINK_EXPIRY_HOURS)
    before = _times()
    link, _ = measures.create_link(
        team["coordinator"].at(at(210)), patient, "phq9", PatientLink.Channel.IN_CLINIC
    )
    assert_written_at(at(210), _written(before), expires_at=at(210) + hours)
    before = _times()
    with django_capture_on_commit_callbacks(execute=True):
        response = measures.submit_link_response(
            token_of(link), PHQ9_ITEM9, "127.0.0.1", clock=FixedClock(at(215))
        )
    assert_written_at(at(215), _written(before))
    alert = response.alerts.get()
    notified = AuditEvent.objects.get(object_type="safety_alert_notification")
    assert (alert.created_at, notified.occurred_at) == (at(215), at(215))
    run(doctor, 220, measures.acknowledge_alert, alert, "Called her: safe, plan reviewed.")


def test_the_default_clock_is_the_real_one_read_at_each_call(clinic):
    who = Actor(user=None, role="system", clinic=clinic)
    assert who.clock is system_now
    first = who.now()
    assert timezone.is_aware(first) and first <= who.now() <= timezone.now()
    assert who.today() == timezone.localdate()
    assert who.at(PAST).now() == PAST and who.at(PAST).today() == PAST.date()
    with pytest.raises(ValueError, match="aware"):
        FixedClock(datetime(2021, 3, 9, 9, 0))  # naive: refused


class Recorder:
    """An outbox that keeps the messages it is given."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def email(self, to: str, subject: str, body: str) -> None:
        self.sent.append(("email", to, body))

    def sms(self, to: str, body: str) -> None:
        self.sent.append(("sms", to, body))


def test_the_messages_of_an_action_go_to_its_actors_outbox(
    team, settings, nurse, clinic, django_capture_on_commit_callbacks
):
    settings.KETACARE_SMS_BACKEND = "tests.measures.test_send_link.CapturingSmsBackend"
    from tests.measures.test_send_link import SENT

    SENT.clear()
    prescriber = team["prescriber"].user
    prescriber.email, prescriber.mobile = "dr@example.org", "+1 555 0101"
    prescriber.save()
    patient = patients.create_patient(
        team["nurse"], {**PATIENT_DATA, "phone": "+1 555 0199", "email": "ada@example.org"}
    )
    contact_consent(nurse, patient)
    recorder = Recorder()
    coordinator = Actor(
        user=team["coordinator"].user, role="coordinator", clinic=clinic, outbox=recorder
    )
    link, url = measures.create_link(coordinator, patient, "phq9", PatientLink.Channel.SMS)
    measures.create_link(coordinator, patient, "gad7", PatientLink.Channel.EMAIL)
    assert [(kind, to) for kind, to, _ in recorder.sent] == [
        ("sms", "+1 555 0199"),
        ("email", "ada@example.org"),
    ]
    assert url in recorder.sent[0][2]
    # The prescriber is told of the alert the answers open through the answering patient's
    # outbox: here none, as the synthetic clinic runs (the notification is still audited).
    with django_capture_on_commit_callbacks(execute=True):
        measures.submit_link_response(token_of(link), PHQ9_ITEM9, None, outbox=DISCARD)
    assert (mail.outbox, SENT) == ([], [])
    notified = AuditEvent.objects.get(object_type="safety_alert_notification")
    assert notified.changes["sent_to"] == [prescriber.username]


def test_an_actors_today_is_the_day_in_its_clinics_time_zone(clinic, nurse):
    """At 02:00 UTC on 7 December it is still 6 December in New York."""
    from datetime import UTC, date, datetime

    from ketacare.accounts.permissions import Role
    from tests.conftest import actor

    moment = datetime(2026, 12, 7, 2, tzinfo=UTC)
    clinic.time_zone = "America/New_York"
    who = actor(nurse, clinic, Role.NURSE).at(moment)
    assert who.today() == date(2026, 12, 6)
    clinic.time_zone = "Asia/Tokyo"
    assert who.today() == date(2026, 12, 7)
