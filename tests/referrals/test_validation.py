"""Bad input gets a clear message and writes nothing."""

from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.referrals.models import NAME_MAX, TEXT_MAX, Referral
from tests.referrals.conftest import DETAILS, LOW, refer, screen, screener_post, start_url


def test_an_unanswered_screener_is_pointed_out(client, clinic):
    page = client.post(start_url(clinic), {})
    assert "Please choose an answer for this question." in page.content.decode()


def test_a_yes_that_skip_logic_forbids_is_refused(client, clinic):
    data = screener_post(LOW)
    data["item_4"] = "1"  # Q4 yes after a no to Q2
    page = client.post(start_url(clinic), data)
    assert "is asked only after a yes" in page.content.decode()
    assert not Referral.objects.exists()


def test_details_are_bounded_and_required(client, clinic):
    for changes, message in [
        ({"consent_to_contact": ""}, "only contact you if you agree"),
        ({"given_name": "x" * (NAME_MAX + 1)}, "at most"),
        ({"reason": "x" * (TEXT_MAX + 1)}, "at most"),
        ({"phone": "call me maybe"}, "only digits"),
        ({"phone": "", "preferred_contact": "phone"}, "phone number to reach you on"),
        ({"date_of_birth": "1800-01-01"}, "The date"),
        ({"email": "not-an-email", "preferred_contact": "email"}, "valid email"),
    ]:
        page = refer(client, clinic, **changes)
        assert page.status_code == 200
        assert message in page.content.decode(), changes
    assert not Referral.objects.exists()
    assert not AuditEvent.objects.filter(object_type="referral").exists()


def test_a_forged_token_writes_nothing(client, clinic):
    page = refer(client, clinic, token="forged")
    assert page.status_code == 400
    assert not Referral.objects.exists()


def test_a_token_from_another_clinic_is_refused(client, clinic, other_clinic):
    token = screen(client, other_clinic, LOW).context["form"].initial["token"]
    page = client.post(reverse("referral-details", args=[clinic.pk]), {**DETAILS, "token": token})
    assert page.status_code == 400
    assert not Referral.objects.exists()


def test_an_unknown_clinic_is_not_found(client, db):
    assert client.get(reverse("referral-start", args=[999999])).status_code == 404
