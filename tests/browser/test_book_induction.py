"""The appointment book in a real browser (issue 15's "Done when"): a coordinator books an
esketamine induction from its signed plan, is refused first for want of the patient's REMS
enrolment, books it once enrolled, moves one appointment; the patient confirms it by the
reminder's link on a phone; and the coordinator finds its day on the chair board."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from ketacare.accounts.permissions import Role
from ketacare.actor import FixedClock
from ketacare.reminders.dispatch import send_due
from ketacare.scheduling import actions
from ketacare.scheduling.models import Appointment
from tests.browser.test_register_and_find_patient import sign_in
from tests.conftest import actor, make_patient
from tests.planning.conftest import give_consent
from tests.scheduling.conftest import MONDAY, WEEKDAYS, staff_on_site
from tests.scheduling.plans import signed_plan_from

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def book_set_up(clinic, clinic_admin, nurse, prescriber):
    """Weekday hours, two chairs for nasal spray, and a nurse and a prescriber on site."""
    admin = actor(clinic_admin, clinic, Role.CLINIC_ADMIN)
    actions.set_opening_hours(admin, WEEKDAYS)
    actions.add_chair(admin, "Chair 1", ["iv_pump", "nasal_spray"])
    actions.add_chair(admin, "Chair 2", ["nasal_spray"])
    staff_on_site(clinic, (nurse, Role.NURSE), (prescriber, Role.PRESCRIBER))


class Texts:
    """The outbox of the reminder job in this test: the texts it sends, kept."""

    def __init__(self):
        self.sent: list[tuple[str, str]] = []

    def email(self, to, subject, body):
        return None

    def sms(self, to, body):
        self.sent.append((to, body))


def test_book_an_induction_through_the_rems_gate_move_one_and_find_its_day(
    page: Page, browser, live_server, console, book_set_up, coordinator, prescriber, nurse, clinic
):
    patient = make_patient(
        nurse, clinic, given_name="Rosalind", family_name="Franklin", phone="+1 312 555 0199"
    )
    plan = signed_plan_from(prescriber, clinic, patient, MONDAY, esketamine=True, rems=False)

    sign_in(page, coordinator)
    page.goto(f"/plans/{plan.pk}/")
    page.get_by_role("link", name="Book the induction").click()
    expect(page.get_by_role("heading", name="Book the induction")).to_be_visible()
    gate = page.locator('[data-gate="rems_enrolment"]')
    expect(gate).to_contain_text("not enrolled in the esketamine REMS")
    expect(gate).to_contain_text("Spravato REMS")
    page.get_by_role("button", name="Book these sessions").click()
    expect(page.locator(".messages .error")).to_contain_text("not enrolled in the esketamine REMS")
    assert not Appointment.objects.exists()

    give_consent(prescriber, clinic, patient, "rems_enrollment")
    page.goto(f"/schedule/plans/{plan.pk}/book/")
    expect(page.locator('[data-gate="rems_enrolment"]')).to_have_count(0)
    expect(page.locator("[data-session]")).to_have_count(8)
    page.get_by_label("Transport home is arranged for every session").check()
    page.get_by_role("button", name="Book these sessions").click()
    expect(page.get_by_text("Booked 8 sessions.")).to_be_visible()
    booked = page.locator("#booked tbody tr")
    expect(booked).to_have_count(8)

    # Move the first session to the afternoon of its day.
    first = Appointment.objects.order_by("start").first()
    booked.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Dosing session")).to_be_visible()
    page.get_by_label("Starts at").fill("13:00")
    page.get_by_label("Why").fill("Patient asked for the afternoon")
    page.get_by_role("button", name="Move the appointment").click()
    expect(page.get_by_text("Moved.")).to_be_visible()
    expect(page.locator("[data-when]")).to_contain_text(f"{MONDAY:%Y-%m-%d} 13:00")
    expect(page.locator("#history")).to_contain_text("Patient asked for the afternoon")
    first.refresh_from_db()
    assert first.start.hour == 13

    # Two days before, the reminder job texts the patient a link; on her phone she confirms.
    texts = Texts()
    send_due(FixedClock(first.start - timedelta(hours=47)), texts, clinic.pk)
    [(to, body)] = [t for t in texts.sent if "13:00" in t[1]]
    assert to == patient.phone and "Franklin" not in body and "esketamine" not in body.lower()
    link = re.search(r"https?://\S+(/r/\S+/)", body).group(1)
    phone = browser.new_context(base_url=live_server.url, viewport=PHONE, is_mobile=True)
    patient_page = phone.new_page()
    patient_page.on("pageerror", console.on_page_error)
    patient_page.goto(link)
    patient_page.get_by_role("button", name="Confirm").click()
    expect(patient_page.get_by_text("You have confirmed this appointment.")).to_be_visible()
    assert patient_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.close()
    page.reload()
    expect(page.locator("[data-state]")).to_have_text("Confirmed")

    # The day on the chair board: the session waits there with its booked time and chair.
    page.get_by_role("link", name="The day's chair board").click()
    expect(page).to_have_url(re.compile(rf"date={MONDAY:%Y-%m-%d}"))
    waiting = page.locator("#waiting tr").filter(has_text="Franklin")
    expect(waiting.locator("[data-booked]")).to_contain_text("13:00")
    expect(waiting.locator("[data-booked]")).to_contain_text(first.chair.name)
    assert console.messages == []
