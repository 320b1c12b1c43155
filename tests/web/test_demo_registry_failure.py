"""The registry clinic is an extra of the demo: a build that fails keeps nothing of it (so the
next start builds it again rather than keeping half a clinic), and `ketacare demo` still
starts, says why, and offers no registry login."""

import io
from datetime import date
from functools import partial

import pytest
from django.core.management import call_command as run_command

from ketacare.accounts.models import Clinic, User
from ketacare.dev import synth
from ketacare.patients.models import Patient
from ketacare.web import demo_registry
from ketacare.web.demo_data import seed_demo
from ketacare.web.demo_registry import REGISTRY_CLINIC, seed_registry
from ketacare.web.management.commands import demo
from tests.demo_fixtures import beside_the_server


def test_a_failed_build_keeps_nothing_and_the_next_one_builds_it(db, monkeypatch):
    def fails_after_writing(params, **kwargs):
        synth.synthesize(params, **kwargs)
        raise RuntimeError("the disk is full")

    with monkeypatch.context() as failing:
        failing.setattr(demo_registry, "synthesize", fails_after_writing)
        with pytest.raises(RuntimeError):
            seed_registry(patients=3, end=date(2026, 12, 1))
    assert not Clinic.objects.filter(name=REGISTRY_CLINIC).exists()
    assert not User.objects.filter(username__startswith="registry.").exists()
    seed_registry(patients=3, end=date(2026, 12, 1))
    assert Patient.objects.filter(clinic__name=REGISTRY_CLINIC).count() == 3


def test_the_demo_starts_without_the_registry_when_it_cannot_be_built(db, monkeypatch, settings):
    settings.KETACARE_BASE_URL = "http://testserver"  # the command's change stays in the test
    called = []
    monkeypatch.setattr(demo, "call_command", lambda *args, **kwargs: called.append(args[0]))
    monkeypatch.setattr(demo, "worker_thread", beside_the_server(called))
    monkeypatch.setattr(demo, "seed_demo", partial(seed_demo, patient_count=6))

    def broken(**kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(demo, "seed_registry", broken)
    out, err = io.StringIO(), io.StringIO()
    run_command(demo.Command(), stdout=out, stderr=err)
    assert called[-2:] == ["worker", "runserver"]
    assert "could not be built (RuntimeError: the disk is full)" in err.getvalue()
    printed = out.getvalue()
    assert "prescriber" in printed and "/board/" in printed
    assert "registry." not in printed and "/registry/" not in printed


def test_no_registry_skips_it(db, monkeypatch, settings):
    settings.KETACARE_BASE_URL = "http://testserver"
    monkeypatch.setattr(demo, "call_command", lambda *args, **kwargs: None)
    monkeypatch.setattr(demo, "worker_thread", beside_the_server([]))
    monkeypatch.setattr(demo, "seed_demo", partial(seed_demo, patient_count=6))
    run_command(demo.Command(), no_registry=True, stdout=io.StringIO())
    assert not Clinic.objects.filter(name=REGISTRY_CLINIC).exists()
