"""A honeypot, a rate limit per address, and nothing to learn about who is a patient."""

import re

from ketacare.referrals.models import Referral, ReferralAlert, SubmissionAttempt
from tests.conftest import make_patient
from tests.referrals.conftest import DETAILS, HIGH, refer, screen


def test_a_filled_honeypot_pretends_success_and_writes_nothing(client, clinic):
    page = refer(client, clinic, website="http://spam.example")
    assert "Thank you" in page.content.decode()
    assert not Referral.objects.exists() and not SubmissionAttempt.objects.exists()


def test_a_bot_at_crisis_risk_still_sees_the_lines_but_raises_no_alert(client, clinic):
    page = screen(client, clinic, HIGH, website="x")
    assert "crisis-page" in page.content.decode()
    assert not Referral.objects.exists() and not ReferralAlert.objects.exists()


def test_the_rate_limit_stops_writing_but_never_the_crisis_lines(client, clinic):
    for _ in range(5):
        assert "Thank you" in refer(client, clinic).content.decode()
    limited = refer(client, clinic)
    assert limited.status_code == 429
    assert "988" in limited.content.decode()
    crisis = screen(client, clinic, HIGH)
    assert "crisis-page" in crisis.content.decode()
    assert Referral.objects.count() == 5
    assert not ReferralAlert.objects.exists()


def test_another_address_has_its_own_limit(client, clinic):
    for _ in range(5):
        refer(client, clinic)
    client.defaults["REMOTE_ADDR"] = "192.0.2.7"
    assert "Thank you" in refer(client, clinic).content.decode()


def _without_csrf(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_the_thank_you_is_the_same_for_a_patient_and_a_stranger(client, clinic, nurse):
    make_patient(
        nurse, clinic, given_name=DETAILS["given_name"], family_name=DETAILS["family_name"]
    )
    known = refer(client, clinic).content.decode()
    stranger = refer(client, clinic, given_name="Someone", family_name="Else").content.decode()
    assert _without_csrf(known) == _without_csrf(stranger)
    # Nothing typed is shown back.
    for typed in ("Grace", "Hopper", "Sertraline", "555 010 2030"):
        assert typed not in known
