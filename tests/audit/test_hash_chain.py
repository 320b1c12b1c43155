"""Every event recorded by a real action links to the one before it, and `audit verify`
re-walks that chain and says so."""

import re
from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from ketacare.accounts.actions import create_clinic
from ketacare.actor import SYSTEM
from ketacare.audit.chain import GENESIS_HASH
from ketacare.audit.models import AuditEvent, ChainHead
from ketacare.audit.record import Action, record
from ketacare.audit.verify import verify_chain
from ketacare.patients.models import Patient
from tests.conftest import make_patient

NEW_PATIENT = {
    "given_name": "Grace",
    "family_name": "Hopper",
    "date_of_birth": "1956-12-09",
    "sex_at_birth": "female",
    "allergies": "NKDA",
    "weight_kg": "58.2",
    "height_cm": "160.5",
}


def assert_linked(events):
    """Each event's prev_hash is its predecessor's hash; each hash matches its content."""
    assert events, "expected some events"
    assert events[0].prev_hash == GENESIS_HASH
    for previous, event in pairwise(events):
        assert event.prev_hash == previous.hash, f"#{event.pk} does not link to #{previous.pk}"
    for event in events:
        assert len(event.hash) == 64
        assert event.hash == event.compute_hash(), f"#{event.pk} hash does not match content"
    assert len({e.hash for e in events}) == len(events)


def test_events_from_real_actions_form_one_chain(as_user, clinic, nurse, coordinator):
    before = AuditEvent.objects.count()
    patient = make_patient(nurse, clinic)
    client = as_user(nurse)
    response = client.post(reverse("patient-new"), NEW_PATIENT)
    assert response.status_code == 302
    web_patient = Patient.objects.get(family_name="Hopper")
    client.get(reverse("patient-chart", args=[patient.pk]))
    client.get(reverse("patient-list"), {"q": "hopper"})

    events = list(AuditEvent.objects.order_by("id"))
    new = events[before:]
    # make_patient: patient + first weight; sign-in; web form: the same two; a view; a search.
    assert [(e.action, e.object_type) for e in new] == [
        ("create", "patient"),
        ("create", "bodymeasurement"),
        ("login", "user"),
        ("create", "patient"),
        ("create", "bodymeasurement"),
        ("view", "patient"),
        ("search", "patient"),
    ]
    assert new[3].patient == web_patient
    assert_linked(events)


def test_chain_head_points_at_the_newest_event(clinic, nurse):
    make_patient(nurse, clinic)
    last = AuditEvent.objects.order_by("-id").first()
    head = ChainHead.objects.get(clinic=clinic)
    assert (head.last_event_id, head.last_hash, head.event_count) == (
        last.pk,
        last.hash,
        AuditEvent.objects.filter(clinic=clinic).count(),
    )


def test_each_clinic_has_its_own_chain(clinic, nurse, outsider, other_clinic):
    """Chart views at two clinics do not queue for one lock: each clinic's events chain to
    each other only, from the start; events of no clinic go on the installation's chain."""
    make_patient(nurse, clinic)
    make_patient(outsider, other_clinic, given_name="Grace")
    record(SYSTEM, Action.VIEW, object_type="audit_log")
    chains = {
        None: list(AuditEvent.objects.filter(clinic__isnull=True).order_by("id")),
        clinic.pk: list(AuditEvent.objects.filter(clinic=clinic).order_by("id")),
        other_clinic.pk: list(AuditEvent.objects.filter(clinic=other_clinic).order_by("id")),
    }
    assert all(chains.values())
    for clinic_id, events in chains.items():
        assert_linked(events)
        head = (
            ChainHead.objects.get(pk=ChainHead.INSTALLATION)
            if clinic_id is None
            else ChainHead.objects.get(clinic_id=clinic_id)
        )
        assert (head.last_event_id, head.last_hash, head.event_count) == (
            events[-1].pk,
            events[-1].hash,
            len(events),
        )
    assert ChainHead.objects.count() == 3
    verdict = verify_chain()
    assert verdict.ok, verdict.message
    assert verdict.checked == AuditEvent.objects.count()
    assert "3 chains" in verdict.message


def test_the_digest_is_keyed(clinic, nurse, settings):
    """Someone who can rewrite the table but not read the audit key cannot recompute a
    digest: it depends on the key, and is not the plain SHA-256 of before."""
    make_patient(nurse, clinic)
    event = AuditEvent.objects.filter(object_type="patient").get()
    assert event.compute_hash() == event.hash
    assert event.legacy_hash() != event.hash
    settings.KETACARE_AUDIT_KEY = "another key"
    assert event.compute_hash() != event.hash


def test_each_new_event_links_to_the_previous_newest(clinic, nurse):
    for name in ["Ada", "Mary", "Emmy"]:
        newest_before = AuditEvent.objects.order_by("-id").first()
        make_patient(nurse, clinic, given_name=name)
        created = AuditEvent.objects.filter(pk__gt=newest_before.pk).order_by("id").first()
        assert created.prev_hash == newest_before.hash


def test_the_hash_covers_the_content(clinic, nurse):
    make_patient(nurse, clinic)
    event = AuditEvent.objects.filter(object_type="patient").get()
    original = event.compute_hash()
    for field, value in [
        ("action", "delete"),
        ("actor_username", "someone_else"),
        ("role", "clinic_admin"),
        ("object_id", "999"),
        ("ip", "10.0.0.9"),
        ("changes", {}),
        ("prev_hash", "f" * 64),
    ]:
        copy = AuditEvent.objects.get(pk=event.pk)
        setattr(copy, field, value)
        assert copy.compute_hash() != original, f"{field} is not covered by the hash"


def test_verify_is_ok_on_an_untouched_log(as_user, clinic, nurse, coordinator):
    make_patient(nurse, clinic)
    as_user(coordinator).post(reverse("patient-new"), NEW_PATIENT)
    verdict = verify_chain()
    assert verdict.ok, verdict.message
    assert verdict.checked == AuditEvent.objects.count()
    assert verdict.broken_event_id is None


def test_verify_walks_a_log_longer_than_one_batch(clinic, nurse):
    for i in range(4):
        make_patient(nurse, clinic, given_name=f"Ada{i}")
    verdict = verify_chain(batch_size=3)
    assert verdict.ok, verdict.message
    assert verdict.checked == AuditEvent.objects.count()


def test_verify_command_prints_success(clinic, nurse):
    make_patient(nurse, clinic)
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    count = AuditEvent.objects.count()
    assert re.search(rf"Audit chain intact: {count} events verified\.", out.getvalue())


def test_verify_command_on_an_empty_log(db):
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    assert "Audit chain intact: 0 events verified." in out.getvalue()


# Regression (bug found by this suite): record() hashed the IP as the request gave it, but
# GenericIPAddressField stores IPv6 normalized ("2001:DB8:0::1" -> "2001:db8::1"), so verify
# reported untouched events as "altered". record() now normalizes the address before hashing.
@pytest.mark.parametrize("remote_addr", ["2001:DB8:0:0::1", "2001:0db8:0000:0000::0001"])
def test_chain_survives_non_canonical_ipv6_addresses(patient, nurse, remote_addr):
    client = Client(REMOTE_ADDR=remote_addr)
    client.force_login(nurse)
    assert client.get(reverse("patient-chart", args=[patient.pk])).status_code == 200
    assert AuditEvent.objects.filter(action="view").get().ip == "2001:db8::1"
    verdict = verify_chain()
    assert verdict.ok, verdict.message


@pytest.mark.parametrize("remote_addr", ["127.0.0.1", "2001:db8::1", "::ffff:10.1.2.3"])
def test_chain_survives_canonical_addresses(patient, nurse, remote_addr):
    client = Client(REMOTE_ADDR=remote_addr)
    client.force_login(nurse)
    assert client.get(reverse("patient-chart", args=[patient.pk])).status_code == 200
    assert AuditEvent.objects.filter(action="view").get().ip == remote_addr
    verdict = verify_chain()
    assert verdict.ok, verdict.message


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("reset_sequences", [False, True])
def test_a_database_emptied_by_flush_keeps_the_installations_chain_apart(reset_sequences):
    """Between transactional tests the database is emptied (``flush``), the installation's
    head with it. A clinic's first event then must not take its row (pk 1), or every event
    of no clinic would go on that clinic's chain: the head is made again after the flush."""
    # As the test runner flushes (the id sequences left where they were), and as `flush`
    # does by default (restarted).
    call_command("flush", interactive=False, verbosity=0, reset_sequences=reset_sequences)
    assert ChainHead.objects.filter(pk=ChainHead.INSTALLATION, clinic=None).exists()
    clinic = create_clinic(SYSTEM, "Riverside Ketamine Clinic")
    record(SYSTEM, Action.VIEW, object_type="audit_log")
    installation = list(AuditEvent.objects.filter(clinic__isnull=True).order_by("id"))
    assert [e.object_type for e in installation] == ["audit_log"]
    assert_linked(installation)
    assert ChainHead.objects.get(clinic=clinic).pk != ChainHead.INSTALLATION
    other = create_clinic(SYSTEM, "Harbor Mental Health")
    assert ChainHead.objects.filter(clinic__in=[clinic, other]).count() == 2
