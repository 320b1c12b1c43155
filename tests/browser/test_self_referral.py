"""On a phone, a person refers themself; a screener at crisis risk shows the crisis page at
once and the on-call clinician's alert exists, with the mail that tells them."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from ketacare.accounts.models import Clinic
from ketacare.referrals.models import Referral, ReferralAlert
from tests.browser.test_every_page import axe_violations
from tests.browser.test_register_and_find_patient import sign_in
from tests.referrals.conftest import WORDING

pytestmark = pytest.mark.browser


def test_a_high_risk_screener_gets_the_crisis_page_and_raises_the_alert(
    browser, page, live_server, insecure_cookies, console, clinic, prescriber, settings
):
    desk = page  # the prescriber's screen (``page`` is the phone's below)
    settings.KETACARE_SCREENER_WORDING = str(WORDING)
    prescriber.email = "on.call@riverside.example"
    prescriber.save()
    Clinic.objects.filter(pk=clinic.pk).update(on_call_prescriber=prescriber, phone="555-0100")
    phone = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    page: Page = phone.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    page.goto(f"/start/{clinic.pk}/")
    expect(page.get_by_text("not monitored around the clock")).to_be_visible()
    for number, answer in [(1, "Yes"), (2, "Yes"), (3, "Yes"), (4, "Yes"), (5, "No"), (6, "No")]:
        page.get_by_role("group", name=f"{number}.").get_by_label(answer).check()
    page.get_by_role("button", name="Continue").click()

    crisis = page.get_by_role("alert")
    expect(crisis).to_contain_text("Call or text 988")
    expect(crisis).to_contain_text("911")
    expect(crisis).to_contain_text("555-0100")
    expect(page.get_by_role("link", name="Call 988")).to_be_visible()
    assert axe_violations(page) == []
    # Fills the phone's screen: no contact form before the crisis lines.
    box = crisis.bounding_box()
    assert box is not None and box["height"] >= 0.8 * 844 * 0.9
    alert = ReferralAlert.objects.get()
    assert alert.flag == "risk_high" and alert.referral.risk == "high"
    assert [m.to for m in mail.outbox] == [["on.call@riverside.example"]]

    page.get_by_label("Phone number we can call").fill("555 010 7777")
    page.get_by_role("button", name="Ask for a call").click()
    expect(page.get_by_text("A clinician will try to call you")).to_be_visible()
    assert Referral.objects.get().phone == "555 010 7777"
    assert console.messages == []
    phone.close()

    # The on-call prescriber follows the mail's link to the alert, and records the hand-off.
    link = re.search(r"(/alerts/\S*#referral-alert-\d+)", mail.outbox[0].body)
    assert link is not None
    sign_in(desk, prescriber)
    desk.goto(link.group(1))
    urgent = desk.locator(f"#referral-alert-{alert.pk}")
    expect(urgent).to_contain_text("risk")
    urgent.get_by_role("textbox").fill("Called at once; warm hand-off to the crisis team.")
    urgent.get_by_role("button").click()
    expect(urgent).to_have_count(0)  # closed: no longer among the open alerts
    alert.refresh_from_db()
    assert alert.acknowledged_by == prescriber
