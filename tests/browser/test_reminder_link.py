"""The patient confirms, then cancels, by the reminder's link on a phone-sized page (the lead's
browser test of issue 15 drives the whole story)."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ketacare.accounts.permissions import Role
from ketacare.reminders.actions import CANCELLED_BY_LINK
from ketacare.scheduling import actions as scheduling
from ketacare.scheduling.models import Appointment
from tests.conftest import actor, make_patient
from tests.reminders.conftest import link_path

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_confirm_then_cancel_by_link_on_a_phone(
    browser, live_server, insecure_cookies, console, clinic, coordinator, nurse, clinic_admin
):
    admin = actor(clinic_admin, clinic, Role.CLINIC_ADMIN)
    scheduling.set_opening_hours(admin, {day: (time(8), time(18)) for day in range(7)})
    patient = make_patient(nurse, clinic, phone="+1 312 555 0142")
    day = timezone.localdate() + timedelta(days=3)
    start = datetime.combine(day, time(10), tzinfo=clinic.zone)
    appointment = scheduling.book(
        actor(coordinator, clinic, Role.COORDINATOR),
        patient_id=patient.pk,
        kind="follow_up",
        start=start,
        end=start + timedelta(minutes=30),
    )
    phone = browser.new_context(base_url=live_server.url, viewport=PHONE, is_mobile=True)
    page = phone.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    page.goto(link_path(appointment))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your appointment")
    expect(page.get_by_text(clinic.name)).to_be_visible()
    assert "Follow-up" not in page.content() and patient.family_name not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_have_text("Thank you: your appointment is confirmed.")
    expect(page.get_by_text("You have confirmed this appointment.")).to_be_visible()
    assert Appointment.objects.get(pk=appointment.pk).state == "confirmed"

    page.get_by_text("Cancel this appointment").click()
    page.get_by_label("Why? (optional)").fill("My ride fell through")
    page.get_by_role("button", name="Cancel my appointment").click()
    expect(page.get_by_text("This appointment was cancelled.")).to_be_visible()
    appointment.refresh_from_db()
    assert appointment.state == "cancelled"
    assert appointment.changes.last().reason == f"{CANCELLED_BY_LINK}: My ride fell through"
    phone.close()
    assert console.messages == []
