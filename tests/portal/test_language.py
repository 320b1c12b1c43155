"""Which pages follow the patient's language: the portal's sign-in page does (the browser's,
or the one chosen with the switch), the staff pages stay English; the switch goes back only to
a page of this site."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_a_spanish_browser_gets_the_sign_in_page_in_spanish(clinic):
    page = Client(HTTP_ACCEPT_LANGUAGE="es").get(reverse("portal-sign-in", args=[clinic.pk]))
    html = page.content.decode()
    assert page["Content-Language"] == "es"
    assert '<html lang="es">' in html
    assert "Entre en su portal" in html and "Envíenme un código" in html


def test_a_refusal_on_the_sign_in_page_is_in_spanish(clinic):
    page = Client(HTTP_ACCEPT_LANGUAGE="es").post(
        reverse("portal-sign-in", args=[clinic.pk]), {"contact": "not a contact"}
    )
    assert "Escriba el número de celular o el correo electrónico" in page.content.decode()


def test_staff_pages_stay_english_for_a_spanish_browser(nurse):
    login = Client(HTTP_ACCEPT_LANGUAGE="es").get(reverse("login"))
    assert '<html lang="en">' in login.content.decode()
    assert login.get("Content-Language") in (None, "en", "en-us")
    staff = client_for(nurse)
    staff.defaults["HTTP_ACCEPT_LANGUAGE"] = "es"
    # Even after choosing Spanish for the patient pages in the same browser.
    staff.post(reverse("portal-language"), {"language": "es", "next": "/portal/"})
    board = staff.get(reverse("chair-board"))
    assert board.status_code == 200
    assert '<html lang="en">' in board.content.decode()
    assert board.get("Content-Language") in (None, "en", "en-us")


def test_the_switch_keeps_the_choice_over_the_browsers_language(clinic):
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    sign_in = reverse("portal-sign-in", args=[clinic.pk])
    back = client.post(reverse("portal-language"), {"language": "en", "next": sign_in})
    assert back["Location"] == sign_in
    assert client.get(sign_in)["Content-Language"] == "en"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/portal/", "javascript:alert(1)", ""]
)
def test_the_switch_goes_back_only_to_a_page_of_this_site(target):
    back = Client().post(reverse("portal-language"), {"language": "es", "next": target})
    assert back.status_code == 302
    assert back["Location"] == reverse("portal-home")
