import os
import sqlite3
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ketacare.accounts.models import Clinic, User
from ketacare.audit.models import AuditEvent
from ketacare.audit.verify import verify_chain
from ketacare.patients.models import Patient
from ketacare.planning.models import (
    EligibilityOverride,
    Evaluation,
    EvaluationAddendum,
    PlannedSession,
    TreatmentPlan,
)
from ketacare.planning.signature import evaluation_intact, plan_intact
from ketacare.treatments.models import TreatmentSession
from ketacare.web import demo_data
from ketacare.web.demo_data import DEMO_CLINIC, DEMO_PASSWORD, seed_demo
from tests.demo_fixtures import cli_demo, run  # noqa: F401 (cli_demo: fixture)

# The demo the read-only tests share: big enough that today's chair board has a session in
# every state (smaller clinics fill the first states only), and every other part is whole.
SHARED_DEMO_PATIENTS = 24


@pytest.fixture(autouse=True, scope="module")
def afternoon():
    """The demo's chair board is the five hours before it is built: in the small hours they
    fall on yesterday and today's board is empty. These tests look at a board built in the
    afternoon, whenever they run (the clock keeps going from there, through the module: the
    shared demo is built in it, and its tests look at it a little later, as a newcomer
    would)."""
    today = timezone.localdate()
    moment = timezone.make_aware(datetime.combine(today, time(15, 0)))
    with time_machine.travel(moment, tick=True):
        yield


@pytest.fixture(scope="class")
def shared_demo(django_db_setup, django_db_blocker):
    """One seeded demo for the tests of a class that only look at it (seeding takes seconds),
    rolled back after the class; what each test writes (a login, seeding again) is rolled back
    after that test, as usual. Class-scoped, so that the tests outside the class, which need a
    database without the demo, never see it. Returns what seeding returned."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield seed_demo(patient_count=SHARED_DEMO_PATIENTS)
        transaction.set_rollback(True)


def signed_plans(protocol_id):
    return TreatmentPlan.objects.filter(
        clinic__name=DEMO_CLINIC, protocol_id=protocol_id, state=TreatmentPlan.State.SIGNED
    )


def planning_counts():
    return tuple(
        model.objects.count()
        for model in (
            Evaluation,
            EvaluationAddendum,
            EligibilityOverride,
            TreatmentPlan,
            PlannedSession,
        )
    )


class TestTheSeededDemo:
    def test_seed_is_idempotent_and_audited(self, shared_demo, db):
        first = shared_demo
        counts = (User.objects.count(), Patient.objects.count(), Clinic.objects.count())
        second = seed_demo(patient_count=SHARED_DEMO_PATIENTS)
        assert first == second
        assert (User.objects.count(), Patient.objects.count(), Clinic.objects.count()) == counts
        assert Patient.objects.filter(clinic__name=DEMO_CLINIC).count() == SHARED_DEMO_PATIENTS
        assert {role for _, role, _ in first} >= {
            "Prescriber",
            "Nurse",
            "Intake coordinator",
            "Clinic admin",
            "Researcher",
        }
        assert verify_chain().ok

    def test_demo_shows_months_of_scores_and_an_open_safety_alert(self, shared_demo, db):
        from ketacare.measures.models import QuestionnaireResponse, SafetyAlert

        responses = QuestionnaireResponse.objects.filter(patient__clinic__name=DEMO_CLINIC)
        first = responses.order_by("completed_at")[0]
        last = responses.order_by("-completed_at")[0]
        assert (last.completed_at - first.completed_at).days >= 90
        assert {"phq9", "gad7", "pcl5"} <= set(responses.values_list("instrument_id", flat=True))
        assert SafetyAlert.objects.filter(acknowledged_at__isnull=True).count() == 1
        assert SafetyAlert.objects.filter(acknowledged_at__isnull=False).count() == 1

    def test_demo_plans_treatment_through_the_planning_actions(self, shared_demo, db):
        iv, esketamine = signed_plans("iv_ketamine"), signed_plans("esketamine_trd")
        assert iv.count() >= 2 and esketamine.count() >= 1
        for plan in [*iv, *esketamine]:
            assert plan.evaluation.is_signed
            assert plan.sessions.count() == len(plan.signed_schedule) > 0
            assert plan_intact(plan) and evaluation_intact(plan.evaluation)
        assert {plan.dose_order["vial_mg_per_ml"] for plan in iv} == {"10"}
        assert {plan.prescribed_dose for plan in esketamine} == {56}
        # Made through the actions: every plan and evaluation has its audit event.
        for obj in [*TreatmentPlan.objects.all(), *Evaluation.objects.all()]:
            assert AuditEvent.objects.filter(
                object_type=obj._meta.model_name, object_id=str(obj.pk), action="create"
            ).exists()
        assert verify_chain().ok

    def test_demo_shows_an_override_an_addendum_and_work_waiting_for_a_prescriber(
        self, shared_demo, db
    ):
        overridden = TreatmentPlan.objects.get(override__isnull=False)
        assert overridden.is_signed and overridden.protocol_id == "iv_ketamine"
        assert overridden.override.reason.strip()
        verdicts = overridden.evaluation.verdicts
        assert verdicts["intranasal_esketamine"]["verdict"] == "exclude"
        assert verdicts["iv_ketamine"]["verdict"] == "needs_clearance"
        states = set(Evaluation.objects.values_list("state", flat=True))
        assert {Evaluation.State.IN_PROGRESS, Evaluation.State.COMPLETED} <= states
        assert TreatmentPlan.objects.filter(state=TreatmentPlan.State.DRAFT).count() == 1
        addendum = EvaluationAddendum.objects.get()
        assert addendum.evaluation.is_signed
        assert addendum.changes["medications.benzodiazepines"] == {"old": False, "new": True}

    def test_seeding_twice_does_not_duplicate_plans(self, shared_demo, db):
        counts = planning_counts()
        seed_demo(patient_count=SHARED_DEMO_PATIENTS)
        assert planning_counts() == counts
        assert counts[3] >= 5

    def test_the_demo_prescriber_sees_a_signed_iv_plan_with_its_concentration_chart(
        self, shared_demo, db
    ):
        client = Client()
        login = client.post(reverse("login"), {"username": "prescriber", "password": DEMO_PASSWORD})
        assert login.status_code == 302
        plan = signed_plans("iv_ketamine").filter(override__isnull=True).first()
        response = client.get(reverse("plan-detail", kwargs={"plan_id": plan.pk}))
        assert response.status_code == 200
        page = response.content.decode()
        assert "published Cmax" in page
        assert '<svg class="pk-chart"' in page
        assert "DOES NOT MATCH" not in page
        worklist = client.get(reverse("planning-worklist")).content.decode()
        waiting = Evaluation.objects.get(state=Evaluation.State.COMPLETED).patient
        assert waiting.mrn in worklist
        # Every demo plan and evaluation opens, whatever its state.
        for other in TreatmentPlan.objects.all():
            url = reverse("plan-detail", kwargs={"plan_id": other.pk})
            assert client.get(url).status_code == 200
        for evaluation in Evaluation.objects.all():
            url = reverse("evaluation-detail", kwargs={"evaluation_id": evaluation.pk})
            assert client.get(url).status_code == 200

    def test_demo_clinic_has_a_week_of_controlled_substance_movements(self, shared_demo, db):
        from ketacare.inventory.actions import policy
        from ketacare.inventory.chain import verify
        from ketacare.inventory.models import Discrepancy, LedgerEntry, Lot, Registration

        registration = Registration.objects.get(clinic__name=DEMO_CLINIC)
        entries = LedgerEntry.objects.filter(registration=registration)
        kinds = set(entries.values_list("kind", flat=True))
        assert {"receipt", "dispense", "waste", "transfer", "return"} <= kinds
        days = {e.occurred_at.date() for e in entries}
        assert max(days) - min(days) >= timedelta(days=6)
        assert all(
            w.witness_id and w.witness_id != w.actor_id for w in entries.filter(kind="waste")
        )
        assert Discrepancy.objects.filter(registration=registration, resolved_at=None).count() == 1
        soon = timezone.localdate() + timedelta(days=policy()["expiry_warning_days"])
        assert Lot.objects.filter(registration=registration, expires_on__lte=soon).exists()
        assert verify([registration]) == []
        # Seeding again adds nothing.
        count = entries.count()
        seed_demo(patient_count=SHARED_DEMO_PATIENTS)
        assert LedgerEntry.objects.filter(registration=registration).count() == count

    def test_demo_has_a_week_of_appointments_and_one_to_rebook(self, shared_demo, db):
        from ketacare.scheduling.models import Appointment, Chair

        clinic = Clinic.objects.get(name=DEMO_CLINIC)
        book = Appointment.objects.filter(clinic=clinic)
        assert Chair.objects.filter(clinic=clinic).count() == 4
        assert len({a.start.date() for a in book}) == 5
        assert set(book.values_list("chair__name", flat=True)) >= {"Chair 1", "Chair 4", None}
        waiting = book.get(state="needs_rebooking")
        assert waiting.changes.last().reason == "Closed: Chair 3 (Recliner motor repair)."
        assert book.filter(kind="dosing", planned__isnull=False).exists()
        counts = (Chair.objects.count(), book.count(), AuditEvent.objects.count())
        seed_demo(patient_count=SHARED_DEMO_PATIENTS)
        assert (Chair.objects.count(), book.count(), AuditEvent.objects.count()) == counts

    def test_the_demo_portal_patient_signs_in_and_has_things_to_do(self, shared_demo, db):
        from ketacare.portal.demo import portal_patient, sign_in_hint
        from tests.portal.conftest import signed_in_client

        clinic = Clinic.objects.get(name=DEMO_CLINIC)
        patient = portal_patient(clinic)
        assert patient is not None and patient.email in sign_in_hint(patient, "http://x")
        page = signed_in_client(clinic, patient.email).get(reverse("portal-home"))
        html = page.content.decode()
        assert f"Hello, {patient.given_name}" in html
        assert "Generalized Anxiety Disorder" in html
        assert "Dosing session" in html  # an appointment to come
        # A conversation: a question answered, and a request to change waiting for the clinic.
        from ketacare.portal.messaging import waiting

        assert [p.pk for p in waiting(clinic.pk)] == [patient.pk]

    def test_demo_opens_on_a_chair_board_with_a_session_in_every_state(self, shared_demo, db):
        from ketacare.treatments.actions import discharge_blockers

        sessions = TreatmentSession.objects.filter(clinic__name=DEMO_CLINIC)
        states = set(sessions.values_list("state", flat=True))
        assert states == {
            "scheduled",
            "checked_in",
            "dosing",
            "monitoring",
            "discharged",
            "transferred",
            "cancelled",
        }
        cleared = sessions.get(state="dosing", gate_cleared_at__isnull=False)
        assert cleared.gate_stopped_at < cleared.gate_cleared_at and cleared.gate_fired == []
        transferred = sessions.get(state="transferred")
        assert transferred.adverse_events.get().serious_criteria == ["hospitalisation"]
        monitoring = sessions.filter(state="monitoring")
        ready = [s for s in monitoring if not discharge_blockers(s, True, True, timezone.now())]
        assert ready and len(ready) < monitoring.count()  # one ready, one still being watched
        assert sessions.filter(state="checked_in").exclude(gate_fired=[]).exists()
        client = Client()
        client.post(reverse("login"), {"username": "nurse", "password": DEMO_PASSWORD})
        html = client.get(reverse("chair-board")).content.decode()
        assert "Ready for discharge" in html and "Cancelled" in html
        assert "cleared by repeat reading" in html and "Transferred to emergency care" in html
        assert TreatmentSession.objects.filter(clinic__name=DEMO_CLINIC).count() == len(sessions)


# The tests below need a database without the demo (or with part of it), or none at all.


def test_a_demo_made_before_planning_gets_it_on_the_next_run(db, monkeypatch):
    with monkeypatch.context() as before_planning:
        before_planning.setattr(demo_data, "seed_planning", lambda clinic, password: None)
        before_planning.setattr(demo_data, "seed_sessions", lambda clinic, password: None)
        seed_demo(patient_count=12)
    assert not Evaluation.objects.exists()
    seed_demo(patient_count=12)
    assert signed_plans("iv_ketamine").count() >= 2
    assert Patient.objects.filter(clinic__name=DEMO_CLINIC).count() == 12


@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="the demo runs on SQLite; the SQLite run covers it"
)
def test_cli_demo_then_tamper_then_audit_verify_names_the_event(cli_demo, tmp_path):  # noqa: F811
    # The registry's synthetic year is verified in-process (tests/registry/test_demo_registry).
    # The session's demo was built by `ketacare demo --no-serve --no-registry --data-dir`.
    assert "prescriber" in cli_demo.stdout and "ketacare-demo" in cli_demo.stdout
    assert (cli_demo.data_dir / "secret_key").exists()
    assert (cli_demo.data_dir / "ketacare.sqlite3").exists()
    data = cli_demo.copy_to(tmp_path / "demo")  # this test damages it

    ok = run("audit", "verify", data_dir=data)
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout

    with sqlite3.connect(data / "ketacare.sqlite3") as db:
        db.execute("DROP TRIGGER audit_event_append_only")
        db.execute("UPDATE audit_auditevent SET actor_username = 'mallory' WHERE id = 42")
    broken = run("audit", "verify", data_dir=data)
    assert broken.returncode != 0
    assert "#42" in broken.stderr
    assert "altered" in broken.stderr


def test_cli_refuses_to_start_without_a_secret_key(tmp_path):
    result = run("check", data_dir=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_demo_builds_in_the_small_hours_with_todays_board(db):
    """Built at 2 a.m., the board's sessions are still today's (it crashed before: the day
    straddled midnight, and the week's ledger put today's movements ahead of the clock)."""
    today = timezone.localdate()
    with time_machine.travel(timezone.make_aware(datetime.combine(today, time(2, 0))), tick=True):
        seed_demo()
        clinic = Clinic.objects.get(name=DEMO_CLINIC)
        dates = set(TreatmentSession.objects.filter(clinic=clinic).values_list("date", flat=True))
    assert dates == {today}


def test_the_demo_says_at_once_that_it_cannot_be_seeded_with_2fa_required(db, settings):
    """Seeding signs as staff do (accounts.reauth): with a second factor required and no
    authenticator on the demo accounts it would fail half-way; it refuses before writing."""
    settings.KETACARE_REQUIRE_2FA = True
    with pytest.raises(CommandError, match="KETACARE_REQUIRE_2FA"):
        call_command("demo", "--no-serve", "--no-registry")
    assert not Clinic.objects.filter(name=DEMO_CLINIC).exists()
