"""A patient answers a PHQ-9 from a link on a phone; the item-9 answer reaches the prescriber."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from ketacare.measures import actions
from ketacare.measures.models import PatientLink, QuestionnaireResponse
from tests.browser.test_register_and_find_patient import sign_in
from tests.conftest import actor

pytestmark = pytest.mark.browser


def new_link(patient, coordinator, clinic, **changes):
    link, url = actions.create_link(
        actor(coordinator, clinic, "coordinator"), patient, "phq9", "in_clinic"
    )
    if changes:
        PatientLink.objects.filter(pk=link.pk).update(**changes)
    return url.split("/q/", 1)[1].rstrip("/")


def answer_phq9(page: Page, item9: str) -> None:
    for number in range(1, 9):
        page.get_by_role("group", name=f"{number}.").get_by_label("Several days").check()
    page.get_by_role("group", name="9.").get_by_label(item9).check()
    page.get_by_role("button", name="Send my answers").click()


def test_patient_answers_by_link_and_the_prescriber_sees_the_alert(
    page: Page, console, browser, live_server, patient, coordinator, prescriber, clinic
):
    token = new_link(patient, coordinator, clinic)
    phone = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    mobile = phone.new_page()
    mobile.goto(f"/q/{token}/")
    expect(mobile.get_by_role("heading", level=1)).to_have_text("Hello Ada")
    assert "Lovelace" not in mobile.content()
    assert patient.mrn not in mobile.content()

    # A missing answer is pointed out, and the link is not used up.
    mobile.get_by_role("button", name="Send my answers").click()
    expect(mobile.get_by_text("Please choose an answer for this question.").first).to_be_visible()
    answer_phq9(mobile, item9="Several days")

    crisis = mobile.get_by_role("alert")
    expect(crisis).to_contain_text("988")
    expect(crisis).to_contain_text("911")
    expect(crisis).to_contain_text("may not be watching right now")
    response = QuestionnaireResponse.objects.get(patient=patient)
    assert (response.total, response.severity) == (9, "mild")

    # The same link again: a clear page, not the form, not an error.
    reopened = mobile.goto(f"/q/{token}/")
    assert reopened.status == 410
    expect(mobile.get_by_text("already been answered")).to_be_visible()
    phone.close()

    # The prescriber sees the alert at once, acknowledges it with a note.
    sign_in(page, prescriber)
    expect(page.get_by_role("link", name="Safety alerts (1)")).to_be_visible()
    page.get_by_role("link", name="Safety alerts (1)").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Ada Lovelace")
    expect(alert).to_contain_text("PHQ-9 item 9")
    alert.get_by_label("Acknowledge with a note").fill(
        "Called: passive thoughts, no plan; 988 given."
    )
    alert.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("No open safety alerts from questionnaires.")).to_be_visible()
    expect(page.get_by_role("link", name="Safety alerts", exact=True)).to_be_visible()
    assert console.messages == []


def test_expired_and_tampered_links_get_a_clear_page(
    page: Page, console, patient, coordinator, clinic
):
    expired = new_link(patient, coordinator, clinic, expires_at=timezone.now() - timedelta(hours=1))
    response = page.goto(f"/q/{expired}/")
    assert response.status == 410
    expect(page.get_by_text("This link has expired")).to_be_visible()
    assert "Ada" not in page.content()

    valid = new_link(patient, coordinator, clinic)
    tampered = valid[:-3] + ("aaa" if not valid.endswith("aaa") else "bbb")
    response = page.goto(f"/q/{tampered}/")
    assert response.status == 404
    expect(page.get_by_text("This link is not valid")).to_be_visible()
    assert QuestionnaireResponse.objects.count() == 0
    # The browser logs the 410 and 404 statuses themselves; nothing else went wrong.
    unexpected = [m for m in console.messages if not ("status of 410" in m or "status of 404" in m)]
    assert unexpected == []
