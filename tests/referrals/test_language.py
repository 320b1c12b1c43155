"""The public referral form in the visitor's language: its words, its form's labels and the
crisis lines (worded in Spanish, the same numbers) for a Spanish browser."""

import pytest
from django.test import Client

from ketacare.referrals.crisis import crisis_lines
from tests.referrals.conftest import screen, start_url

pytestmark = pytest.mark.django_db

HIGH = [1, 1, 1, 1, 1, 1, 1]  # yes to every question: crisis risk


def test_a_spanish_browser_gets_the_start_page_in_spanish(clinic):
    page = Client(HTTP_ACCEPT_LANGUAGE="es").get(start_url(clinic))
    html = page.content.decode()
    assert page["Content-Language"] == "es"
    assert '<html lang="es">' in html
    assert f"Empiece con {clinic.name}" in html
    assert "¿Necesita ayuda ahora?" in html
    assert "Llame o envíe un mensaje de texto al 988" in html
    assert "Este formulario no se revisa las 24 horas." in html


def test_an_english_browser_keeps_the_english_start_page(clinic):
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(start_url(clinic))
    html = page.content.decode()
    assert page["Content-Language"] == "en"
    assert f"Get started with {clinic.name}" in html
    assert "Call or text 988" in html


def test_the_crisis_page_is_in_spanish_with_the_same_numbers(clinic):
    page = screen(Client(HTTP_ACCEPT_LANGUAGE="es"), clinic, HIGH)
    html = page.content.decode()
    assert "Si está pensando en hacerse daño" in html
    assert "Llamar al 988" in html and 'href="tel:988"' in html
    assert 'href="tel:911"' in html


def test_the_crisis_lines_fall_back_to_english_for_a_language_without_them(clinic):
    from django.utils import translation

    with translation.override("fr"):
        assert crisis_lines(clinic).heading.startswith("If you are thinking")
    with translation.override("es"):
        spanish = crisis_lines(clinic)
    assert spanish.call == "988" and spanish.emergency == "911"
