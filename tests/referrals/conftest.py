from pathlib import Path

import pytest
from django.urls import reverse

WORDING = Path(__file__).with_name("screener_wording.toml")
LOW = [1, 0, 0, 0, 0, 0, 0]  # yes to Q1 only
MODERATE = [1, 1, 1, 0, 0, 0, 0]  # yes to Q3
HIGH = [1, 1, 1, 1, 0, 0, 0]  # yes to Q4 (intent)
HIGH_BEHAVIOUR = [0, 0, 0, 0, 0, 1, 1]  # behaviour in the past 3 months
DETAILS = {
    "given_name": "Grace",
    "family_name": "Hopper",
    "date_of_birth": "1980-12-09",
    "phone": "+1 555 010 2030",
    "email": "",
    "preferred_contact": "phone",
    "voicemail_ok": "on",
    "reason": "Depression that has not lifted with two medicines.",
    "current_treatment": "Sertraline 100 mg",
    "consent_to_contact": "on",
}


@pytest.fixture(autouse=True)
def wording(settings):
    settings.KETACARE_SCREENER_WORDING = str(WORDING)


def screener_post(answers, **extra):
    data = {f"item_{n}": str(a) for n, a in enumerate(answers, start=1)}
    # Questions the skip logic leaves unasked are left blank, as the page sends them.
    if answers[1] == 0:
        for n in (3, 4, 5):
            data.pop(f"item_{n}")
    if answers[5] == 0:
        data.pop("item_7")
    return {**data, **extra}


def start_url(clinic):
    return reverse("referral-start", args=[clinic.pk])


def screen(client, clinic, answers, **extra):
    return client.post(start_url(clinic), screener_post(answers, **extra))


def refer(client, clinic, answers=LOW, **changes):
    """Screen below crisis risk, then send the contact details; the second response."""
    token = screen(client, clinic, answers).context["form"].initial["token"]
    data = {**DETAILS, "token": token, **changes}
    return client.post(reverse("referral-details", args=[clinic.pk]), data)
