from base64 import b32decode

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketacare.audit.models import AuditEvent
from tests.conftest import PASSWORD


def sign_in(user) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def code_for(device: TOTPDevice) -> str:
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{code:06d}"


@pytest.fixture
def require_2fa(settings):
    settings.KETACARE_REQUIRE_2FA = True


def test_prescriber_must_enrol_when_2fa_required(require_2fa, prescriber):
    client = sign_in(prescriber)
    response = client.get(reverse("patient-list"))
    assert response.status_code == 302
    assert response["Location"] == reverse("otp-setup")

    page = client.get(reverse("otp-setup"))
    assert page.status_code == 200
    secret = page.context["secret"]
    device = TOTPDevice.objects.get(user=prescriber, confirmed=False)
    assert b32decode(secret) == device.bin_key

    ok = client.post(reverse("otp-setup"), {"token": code_for(device)})
    assert ok.status_code == 302
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get(reverse("patient-list")).status_code == 200
    assert AuditEvent.objects.filter(object_type="totp_device", action="update").exists()


def test_wrong_enrolment_code_turns_nothing_on(require_2fa, prescriber):
    client = sign_in(prescriber)
    client.get(reverse("otp-setup"))
    device = TOTPDevice.objects.get(user=prescriber, confirmed=False)
    wrong = "000000" if code_for(device) != "000000" else "111111"
    response = client.post(reverse("otp-setup"), {"token": wrong})
    assert "does not match" in response.content.decode()
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get(reverse("patient-list")).status_code == 302


def test_enrolled_user_must_give_a_code_after_the_password(prescriber):
    device = TOTPDevice.objects.create(user=prescriber, name="phone", confirmed=True)
    client = sign_in(prescriber)
    response = client.get(reverse("patient-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("otp-verify"))

    bad = client.post(reverse("otp-verify"), {"token": "12345"})
    assert "Enter the 6 digits" in bad.content.decode()
    assert client.get(reverse("patient-list")).status_code == 302

    good = client.post(
        reverse("otp-verify"), {"token": code_for(device), "next": reverse("patient-list")}
    )
    assert good.status_code == 302
    assert good["Location"] == reverse("patient-list")
    assert client.get(reverse("patient-list")).status_code == 200


def test_nurse_is_not_forced_to_enrol(require_2fa, nurse):
    assert sign_in(nurse).get(reverse("patient-list")).status_code == 200


def test_without_the_setting_nobody_is_forced(prescriber, clinic_admin):
    for user in (prescriber, clinic_admin):
        assert sign_in(user).get(reverse("patient-list")).status_code == 200


def test_verify_page_refuses_offsite_next(prescriber):
    device = TOTPDevice.objects.create(user=prescriber, name="phone", confirmed=True)
    client = sign_in(prescriber)
    response = client.post(
        reverse("otp-verify"), {"token": code_for(device), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_wrong_code_is_audited(prescriber):
    from ketacare.audit.models import AuditEvent

    TOTPDevice.objects.create(user=prescriber, name="phone", confirmed=True)
    client = sign_in(prescriber)
    client.post(reverse("otp-verify"), {"token": "000000"})
    event = AuditEvent.objects.get(action="login_failed")
    assert event.changes == {"factor": "totp"}
    assert event.actor == prescriber
