"""On a phone set to Spanish, the patient pages come in Spanish, fit the screen, pass the
automated accessibility check, and switch to English with the page's language switch."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ketacare.accounts.permissions import Role
from ketacare.scheduling import actions as scheduling
from tests.browser.test_every_page import axe_violations
from tests.conftest import actor, make_patient
from tests.measures.helpers import make_link
from tests.referrals.conftest import WORDING
from tests.reminders.conftest import link_path

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def spanish_phone(browser, live_server, insecure_cookies, console):
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, is_mobile=True, locale="es-ES"
    )
    page = context.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    yield page
    context.close()
    assert console.messages == []


def fits_and_passes(page) -> None:
    assert page.evaluate("document.documentElement.lang") == "es"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert axe_violations(page) == []


def test_the_reminder_link_in_spanish_then_english(
    spanish_phone, clinic, coordinator, nurse, clinic_admin
):
    admin = actor(clinic_admin, clinic, Role.CLINIC_ADMIN)
    scheduling.set_opening_hours(admin, {day: (time(8), time(18)) for day in range(7)})
    patient = make_patient(nurse, clinic, phone="+1 312 555 0142")
    start = datetime.combine(timezone.localdate() + timedelta(days=3), time(10), clinic.zone)
    appointment = scheduling.book(
        actor(coordinator, clinic, Role.COORDINATOR),
        patient_id=patient.pk,
        kind="follow_up",
        start=start,
        end=start + timedelta(minutes=30),
    )
    page = spanish_phone
    page.goto(link_path(appointment))
    expect(page.get_by_role("heading", level=1)).to_have_text("Su cita")
    fits_and_passes(page)
    page.get_by_role("button", name="Confirmar").click()
    expect(page.get_by_role("status")).to_have_text("Gracias: su cita está confirmada.")

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your appointment")
    expect(page.get_by_text("You have confirmed this appointment.")).to_be_visible()


def test_the_questionnaire_link_in_spanish(spanish_phone, clinic, coordinator, nurse):
    patient = make_patient(nurse, clinic)
    _, path = make_link(coordinator, patient, "phq9")
    page = spanish_phone
    page.goto(path)
    expect(page.get_by_role("button", name="Enviar mis respuestas")).to_be_visible()
    fits_and_passes(page)


def test_the_referral_form_in_spanish(spanish_phone, clinic, settings):
    settings.KETACARE_SCREENER_WORDING = str(WORDING)
    page = spanish_phone
    page.goto(f"/start/{clinic.pk}/")
    expect(page.get_by_text("Este formulario no se revisa las 24 horas.")).to_be_visible()
    fits_and_passes(page)
