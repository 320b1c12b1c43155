"""Every password prompt is a sign-in (``accounts.reauth.reauthenticate``): failures count toward
the account's lock-out and are audited with their prompt, a locked, inactive or other clinic's
account is refused, the second factor is asked where sign-in asks it, and every failure reads
the same."""

import pytest
from django.conf import settings

from ketacare.accounts.actions import create_staff, set_staff_active
from ketacare.accounts.models import User
from ketacare.accounts.permissions import Role
from ketacare.accounts.reauth import SignatureRefused, reauthenticate, reauthenticate_actor
from ketacare.actor import SYSTEM
from ketacare.audit.models import AuditEvent
from ketacare.audit.verify import verify_chain
from tests.accounts.reauth_checks import (
    REFUSED,
    authenticator,
    code_for,
    fail_sign_in_until_locked,
    is_locked_out,
    prompt_failures,
    sign_in_is_locked,
    wrong_code,
)
from tests.conftest import PASSWORD, actor

PROMPT = "waste witness"


def refusal(who, username, password=PASSWORD, code=""):
    """The message of a refused prompt (the test fails if it is accepted)."""
    with pytest.raises(SignatureRefused) as refused:
        reauthenticate(who, username, password, code, prompt=PROMPT)
    return str(refused.value)


def staff_member(clinic, username, role=Role.NURSE):
    return create_staff(SYSTEM, clinic=clinic, username=username, password=PASSWORD, role=role)


def test_the_right_credentials_sign_and_leave_no_failure(nurse, prescriber, clinic):
    signer = reauthenticate(actor(nurse, clinic), "prescriber", PASSWORD, prompt=PROMPT)
    assert signer == prescriber
    assert not AuditEvent.objects.filter(action="login_failed").exists()


def test_every_kind_of_failure_reads_the_same_and_is_audited(
    nurse, clinic_admin, clinic, other_admin
):
    who = actor(nurse, clinic)
    inactive = staff_member(clinic, "inactive")
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    left = staff_member(clinic, "left")
    set_staff_active(
        actor(clinic_admin, clinic, Role.CLINIC_ADMIN), left.memberships.get().pk, False
    )
    locked = staff_member(clinic, "locked")
    fail_sign_in_until_locked(locked)
    with_device = staff_member(clinic, "with-device")
    device = authenticator(with_device)
    cases = {
        "wrong password": ("prescriber", "not the password", ""),
        "unknown username": ("nobody-here", PASSWORD, ""),
        "inactive account": ("inactive", PASSWORD, ""),
        "deactivated at this clinic": ("left", PASSWORD, ""),
        "another clinic's admin, right password": ("other-admin", PASSWORD, ""),
        "locked out, right password": ("locked", PASSWORD, ""),
        "second factor missing": ("with-device", PASSWORD, ""),
        "second factor wrong": ("with-device", PASSWORD, wrong_code(device)),
    }
    for case, (username, password, code) in cases.items():
        before = len(prompt_failures(PROMPT))
        assert refusal(who, username, password, code) == REFUSED, case
        events = prompt_failures(PROMPT)
        assert len(events) == before + 1, case  # one event each, not one more from the login page
        event = events[-1]
        assert (event.actor, event.clinic, event.ip) == (nurse, clinic, "127.0.0.1"), case
        assert event.changes["username"] == username, case
        assert password not in str(event.changes), case
    assert REFUSED == "The signature was not accepted. Nothing was recorded."
    # Besides these, only the login page's own failures (that locked "locked") were recorded.
    login_page = AuditEvent.objects.filter(action="login_failed", actor__isnull=True)
    assert login_page.count() == settings.AXES_FAILURE_LIMIT
    assert verify_chain().ok


def test_five_failures_lock_the_account_for_prompts_and_the_login_page(nurse, prescriber, clinic):
    who = actor(nurse, clinic)
    for n in range(settings.AXES_FAILURE_LIMIT):
        assert refusal(who, "prescriber", f"guess {n}") == REFUSED
    assert is_locked_out(prescriber)
    # Locked: even the right password is refused, here and at the login page.
    assert refusal(who, "prescriber") == REFUSED
    assert prompt_failures(PROMPT)[-1].changes["locked_out"] is True
    assert sign_in_is_locked(prescriber)


def test_a_locked_out_account_is_refused(nurse, prescriber, clinic):
    fail_sign_in_until_locked(prescriber)
    assert refusal(actor(nurse, clinic), "prescriber") == REFUSED


def test_another_clinics_admin_counts_toward_their_lock_out(nurse, clinic, other_admin):
    who = actor(nurse, clinic)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert refusal(who, "other-admin") == REFUSED
    assert is_locked_out(other_admin)
    assert {e.changes["reason"] for e in prompt_failures(PROMPT)} == {"not at this clinic"}


def test_wrong_codes_count_toward_the_lock_out(nurse, prescriber, clinic):
    device = authenticator(prescriber)
    who = actor(nurse, clinic)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert refusal(who, "prescriber", PASSWORD, wrong_code(device)) == REFUSED
    assert is_locked_out(prescriber)
    assert sign_in_is_locked(prescriber)


def test_a_valid_code_signs(nurse, prescriber, clinic):
    device = authenticator(prescriber)
    signer = reauthenticate(
        actor(nurse, clinic), "prescriber", PASSWORD, code_for(device), prompt=PROMPT
    )
    assert signer == prescriber


def test_a_signature_clears_earlier_failures_as_a_sign_in_does(nurse, prescriber, clinic):
    who = actor(nurse, clinic)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        refusal(who, "prescriber", "typo")
    reauthenticate(who, "prescriber", PASSWORD, prompt=PROMPT)
    refusal(who, "prescriber", "typo")
    assert not is_locked_out(prescriber)


def test_where_the_clinic_requires_2fa_a_prescriber_needs_a_code(
    settings, nurse, prescriber, clinic
):
    settings.KETACARE_REQUIRE_2FA = True
    who = actor(nurse, clinic)
    # Without an authenticator a prescriber cannot sign (nor work: sign-in sends them to set
    # one up); a nurse, whom the rule does not cover, can.
    assert refusal(who, "prescriber") == REFUSED
    assert prompt_failures(PROMPT)[-1].changes["reason"] == "second factor missing"
    other_nurse = staff_member(clinic, "nurse2")
    assert reauthenticate(actor(prescriber, clinic), "nurse2", PASSWORD, prompt=PROMPT) == (
        other_nurse
    )
    device = authenticator(prescriber)
    assert reauthenticate(who, "prescriber", PASSWORD, code_for(device), prompt=PROMPT)


def test_the_actors_own_signature_is_a_sign_in_too(prescriber, clinic):
    who = actor(prescriber, clinic, Role.PRESCRIBER)
    with pytest.raises(SignatureRefused, match=REFUSED):
        reauthenticate_actor(who, "wrong", prompt="plan signature")
    [event] = prompt_failures("plan signature")
    assert (event.actor, event.changes["username"]) == (prescriber, "prescriber")
    assert reauthenticate_actor(who, PASSWORD, prompt="plan signature") == prescriber
