import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ketacare.accounts.models import Clinic, User
from ketacare.audit.verify import verify_chain
from ketacare.patients.models import Patient
from ketacare.web.demo_data import DEMO_CLINIC, seed_demo

KETACARE = str(Path(sys.executable).with_name("ketacare"))


def test_seed_is_idempotent_and_audited(db):
    first = seed_demo(patient_count=6)
    counts = (User.objects.count(), Patient.objects.count(), Clinic.objects.count())
    second = seed_demo(patient_count=6)
    assert first == second
    assert (User.objects.count(), Patient.objects.count(), Clinic.objects.count()) == counts
    assert Patient.objects.filter(clinic__name=DEMO_CLINIC).count() == 6
    assert {role for _, role, _ in first} >= {
        "Prescriber",
        "Nurse",
        "Intake coordinator",
        "Clinic admin",
        "Researcher",
    }
    assert verify_chain().ok


def test_demo_shows_months_of_scores_and_an_open_safety_alert(db):
    from ketacare.measures.models import QuestionnaireResponse, SafetyAlert

    seed_demo(patient_count=12)
    responses = QuestionnaireResponse.objects.filter(patient__clinic__name=DEMO_CLINIC)
    first, last = responses.order_by("completed_at")[0], responses.order_by("-completed_at")[0]
    assert (last.completed_at - first.completed_at).days >= 90
    assert {"phq9", "gad7", "pcl5"} <= set(responses.values_list("instrument_id", flat=True))
    assert SafetyAlert.objects.filter(acknowledged_at__isnull=True).count() == 1
    assert SafetyAlert.objects.filter(acknowledged_at__isnull=False).count() == 1


def run(*args, data_dir, env=None):
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")
        and not k.startswith("KETACARE_")
    }
    environment.update({"KETACARE_DATA_DIR": str(data_dir), **(env or {})})
    return subprocess.run(
        [KETACARE, *args], capture_output=True, text=True, env=environment, timeout=120
    )


@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="the demo runs on SQLite; the SQLite run covers it"
)
def test_cli_demo_then_tamper_then_audit_verify_names_the_event(tmp_path):
    demo = run("demo", "--no-serve", "--data-dir", str(tmp_path), data_dir=tmp_path / "unused")
    assert demo.returncode == 0, demo.stderr
    assert "prescriber" in demo.stdout and "ketacare-demo" in demo.stdout
    assert (tmp_path / "secret_key").exists()
    assert (tmp_path / "ketacare.sqlite3").exists()

    ok = run("audit", "verify", data_dir=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout

    with sqlite3.connect(tmp_path / "ketacare.sqlite3") as db:
        db.execute("DROP TRIGGER audit_event_append_only")
        db.execute("UPDATE audit_auditevent SET actor_username = 'mallory' WHERE id = 42")
    broken = run("audit", "verify", data_dir=tmp_path)
    assert broken.returncode != 0
    assert "#42" in broken.stderr
    assert "altered" in broken.stderr


def test_cli_refuses_to_start_without_a_secret_key(tmp_path):
    result = run("check", data_dir=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr
