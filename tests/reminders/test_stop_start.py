"""STOP texted back stops text reminders for every patient with that number (email goes on);
START starts them again. The endpoint takes the gateway's shared secret and refuses anything
else, writing nothing."""

import pytest
from django.test import Client
from django.urls import reverse

from ketacare.audit.models import AuditEvent
from ketacare.reminders.models import OptOut
from ketacare.reminders.queries import stopped
from ketacare.reminders.rules import keyword
from tests.conftest import make_patient

pytestmark = pytest.mark.django_db

SECRET = "gateway-shared-secret"
URL = reverse("reminder-inbound-sms")


@pytest.fixture
def configured(settings):
    settings.KETACARE_SMS_INBOUND_TOKEN = SECRET


def text(sender, body, token=SECRET):
    return Client().post(URL, {"from": sender, "body": body}, headers={"X-Ketacare-Token": token})


@pytest.mark.parametrize(
    "word", ["STOP", "stop", " Stop. ", "STOPALL", "unsubscribe", "Cancel", "END", "quit"]
)
def test_the_carrier_stop_words(word):
    assert keyword(word) == "stop"


@pytest.mark.parametrize("body", ["", "Stop by at 3?", "ok", "I'll be late", "stopp"])
def test_other_replies_are_not_a_choice(body):
    assert keyword(body) is None


def test_stop_then_start(configured, reachable, other_clinic, nurse, outsider):
    # The same person at another clinic, written differently; and someone else.
    elsewhere = make_patient(outsider, other_clinic, phone="312.555.0142")
    stranger = make_patient(nurse, reachable.clinic, phone="+1 312 555 0199", family_name="Byron")

    response = text("+13125550142", "STOP")
    assert response.status_code == 200 and response.json() == {"keyword": "stop"}
    assert stopped([reachable.pk, elsewhere.pk, stranger.pk]) == {
        (reachable.pk, "sms"),
        (elsewhere.pk, "sms"),
    }
    events = AuditEvent.objects.filter(object_type="reminder_opt_out")
    assert {(e.patient_id, e.clinic_id, e.role) for e in events} == {
        (reachable.pk, reachable.clinic_id, "patient"),
        (elsewhere.pk, other_clinic.pk, "patient"),
    }

    assert text("+13125550142", "start").json() == {"keyword": "start"}
    assert stopped([reachable.pk, elsewhere.pk]) == set()
    # Append-only: both choices are kept, with their times.
    assert list(OptOut.objects.filter(patient=reachable).values_list("stopped", "source")) == [
        (True, "sms_keyword"),
        (False, "sms_keyword"),
    ]


def test_a_reply_that_is_not_a_keyword_changes_nothing(configured, reachable):
    assert text("+13125550142", "See you then").json() == {"keyword": None}
    assert not OptOut.objects.exists()


def test_an_unknown_number_is_answered_the_same(configured, reachable):
    assert text("+15550000000", "STOP").json() == {"keyword": "stop"}
    assert not OptOut.objects.exists()


def test_without_a_configured_secret_the_endpoint_refuses(settings, reachable):
    settings.KETACARE_SMS_INBOUND_TOKEN = ""
    for token in ("", "anything"):
        assert text("+13125550142", "STOP", token=token).status_code == 403
    assert not OptOut.objects.exists()


@pytest.mark.parametrize("token", ["", "wrong", SECRET + "x"])
def test_a_wrong_secret_is_refused(configured, reachable, token):
    assert text("+13125550142", "STOP", token=token).status_code == 403
    assert not OptOut.objects.exists()


def test_the_secret_may_come_as_a_field(configured, reachable):
    response = Client().post(URL, {"from": "+13125550142", "body": "STOP", "token": SECRET})
    assert response.status_code == 200
    assert OptOut.objects.count() == 1


@pytest.mark.parametrize(
    "data",
    [{}, {"body": "STOP"}, {"from": "x" * 41, "body": "STOP"}, {"from": "\x00", "body": "STOP"}],
)
def test_bad_input_is_a_400(configured, reachable, data):
    response = Client().post(URL, data, headers={"X-Ketacare-Token": SECRET})
    assert response.status_code == 400
    assert not OptOut.objects.exists()


def test_only_post(configured):
    assert Client().get(URL, headers={"X-Ketacare-Token": SECRET}).status_code == 405


def test_a_gateway_that_capitalises_its_fields(configured, reachable):
    response = Client().post(
        URL, {"From": "+13125550142", "Body": "Stop"}, headers={"X-Ketacare-Token": SECRET}
    )
    assert response.json() == {"keyword": "stop"}
    assert OptOut.objects.count() == 1
