"""The questionnaire link page in the patient's language: the browser's (Accept-Language),
or the one chosen with the page's language switch; the questionnaire items stay as their data
files word them, the page's own words and its crisis box are translated."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ketacare.measures.models import PatientLink
from tests.measures.helpers import PHQ9_ITEM9, form_data, make_link

pytestmark = pytest.mark.django_db


@pytest.fixture
def phq9_path(coordinator, patient):
    return make_link(coordinator, patient, "phq9")[1]


def test_a_spanish_browser_gets_the_page_in_spanish(phq9_path):
    page = Client(HTTP_ACCEPT_LANGUAGE="es").get(phq9_path)
    html = page.content.decode()
    assert page["Content-Language"] == "es"
    assert '<html lang="es">' in html
    assert "Hola, Ada" in html and "Enviar mis respuestas" in html
    assert "Send my answers" not in html


def test_an_english_browser_gets_english(phq9_path):
    page = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").get(phq9_path)
    assert page["Content-Language"] == "en"
    assert '<html lang="en">' in page.content.decode()
    assert "Send my answers" in page.content.decode()


def test_a_missing_answer_is_refused_in_spanish(phq9_path):
    answers = form_data(PHQ9_ITEM9)
    answers.pop("item_3")
    page = Client(HTTP_ACCEPT_LANGUAGE="es").post(phq9_path, answers)
    assert "Elija una respuesta para esta pregunta." in page.content.decode()


def test_the_crisis_box_after_item_9_is_in_spanish_with_the_same_numbers(phq9_path):
    page = Client(HTTP_ACCEPT_LANGUAGE="es").post(phq9_path, form_data(PHQ9_ITEM9))
    html = page.content.decode()
    assert 'class="crisis"' in html
    assert "Si está pensando en hacerse daño" in html
    assert "988" in html and "911" in html


def test_an_expired_link_says_so_in_spanish(phq9_path):
    PatientLink.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    page = Client(HTTP_ACCEPT_LANGUAGE="es").get(phq9_path)
    assert page.status_code == 410
    assert "Este enlace ha caducado." in page.content.decode()


def test_the_language_switch_keeps_the_choice_and_comes_back(phq9_path):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert reverse("portal-language") in client.get(phq9_path).content.decode()
    back = client.post(reverse("portal-language"), {"language": "es", "next": phq9_path})
    assert back.status_code == 302 and back["Location"] == phq9_path
    page = client.get(phq9_path)
    assert page["Content-Language"] == "es"
    assert "Enviar mis respuestas" in page.content.decode()
