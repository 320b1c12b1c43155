"""The reminder link page in the patient's language: the day and month, the buttons, the
answers and the reasons a link is closed, in Spanish for a Spanish browser."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from ketacare.reminders.links import when
from tests.reminders.conftest import START, link_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_day_before():
    with time_machine.travel(START - timedelta(days=1), tick=False):
        yield


def test_a_spanish_browser_gets_the_page_in_spanish(appointment, at_day_before):
    page = Client(HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9").get(link_path(appointment))
    html = page.content.decode()
    assert page["Content-Language"] == "es"
    assert '<html lang="es">' in html
    assert "miércoles 2 de diciembre a las 09:00 (CST)" in html
    assert "Confirmar" in html and "Dejar de recibir recordatorios" in html


def test_confirming_answers_in_spanish(appointment, at_day_before):
    page = Client(HTTP_ACCEPT_LANGUAGE="es").post(link_path(appointment), {"choice": "confirm"})
    assert "Gracias: su cita está confirmada." in page.content.decode()


def test_a_past_appointment_is_closed_in_spanish(appointment):
    with time_machine.travel(START + timedelta(days=1), tick=False):
        page = Client(HTTP_ACCEPT_LANGUAGE="es").get(link_path(appointment))
    assert "Esta cita ya pasó." in page.content.decode()


def test_a_bad_link_is_refused_in_spanish():
    page = Client(HTTP_ACCEPT_LANGUAGE="es").get(reverse("appointment-link", args=["nope"]))
    assert page.status_code == 404
    assert "Este enlace no es válido." in page.content.decode()


def test_the_reminder_text_stays_english_outside_a_request(appointment):
    assert when(START, appointment.clinic.zone) == "Wednesday 2 December at 09:00 (CST)"
