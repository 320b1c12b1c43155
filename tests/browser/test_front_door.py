"""The front door in a real browser (issue 16's "Done when"): a person refers themself on a
phone at low risk; a coordinator contacts and accepts them, which registers the patient and
sends the intake questionnaires; the patient signs in to the portal with a one-time code on
the phone, finds the questionnaires, answers one and signs a consent; the chart shows all of
it, with its audit events. Each patient page passes axe-core with no serious or critical
violation and fits the phone's screen."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from ketacare.audit.models import AuditEvent
from ketacare.patients.models import ConsentRecord, Patient
from ketacare.referrals.models import Referral
from tests.browser.test_every_page import axe_violations
from tests.browser.test_register_and_find_patient import sign_in
from tests.referrals.conftest import WORDING

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
EMAIL = "grace.hopper@example.org"


def phone_page(browser: Browser, live_server, console) -> Page:
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, is_mobile=True, locale="en-US"
    )
    context.set_default_timeout(5_000)
    page = context.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    return page


def fits_and_passes_axe(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a 390px phone"
    assert axe_violations(page) == [], page.url


def refer_myself(phone: Page, clinic) -> None:
    phone.goto(f"/start/{clinic.pk}/")
    # Yes to the wish to be dead only (low risk: crisis lines shown, no alert); no to the
    # thoughts skips to the question on behaviour.
    for number, answer in [(1, "Yes"), (2, "No"), (6, "No")]:
        phone.get_by_role("group", name=f"{number}.").get_by_label(answer).check()
    phone.get_by_role("button", name="Continue").click()
    phone.get_by_label("First name").fill("Grace")
    phone.get_by_label("Last name").fill("Hopper")
    phone.get_by_label("Date of birth").fill("1980-12-09")
    phone.get_by_role("textbox", name="Email").fill(EMAIL)
    phone.get_by_role("radio", name="Email").check()
    phone.get_by_label("Why are you looking for treatment?").fill(
        "Depression that has not lifted after two medicines."
    )
    phone.get_by_label("I agree that the clinic may contact me about this referral").check()
    phone.get_by_role("button", name="Send").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Thank you")


def accept_referral(page: Page, coordinator) -> Patient:
    sign_in(page, coordinator)
    page.goto("/intake/")
    page.get_by_role("link", name=re.compile("Grace Hopper")).click()
    page.get_by_role("button", name="Log attempt").click()
    expect(page.get_by_text("Contacted", exact=True)).to_be_visible()
    page.locator("#accept").get_by_label("Sex at birth").select_option("female")
    page.locator("#accept").get_by_role("button", name="Accept").click()
    expect(page.get_by_role("heading", name=re.compile("Hopper"))).to_be_visible()
    return Patient.objects.get(family_name="Hopper")


def portal_sign_in(phone: Page, clinic) -> None:
    # The invitation the acceptance sent, as the person asked to be contacted: by email.
    (invitation,) = [m for m in mail.outbox if "opened your patient portal" in m.body]
    assert invitation.to == [EMAIL]
    url = re.search(r"(https?://\S+/portal/clinic/\d+/)", invitation.body)
    assert url is not None and url.group(1).endswith(f"/portal/clinic/{clinic.pk}/")
    phone.goto(url.group(1))
    fits_and_passes_axe(phone)
    phone.get_by_label("Your mobile number or email address").fill(EMAIL)
    phone.get_by_role("button", name="Send me a code").click()
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body)
    assert code is not None and mail.outbox[-1].to == [EMAIL]
    phone.get_by_label("The code we sent you").fill(code.group(1))
    phone.get_by_role("button", name="Sign in").click()
    expect(phone.get_by_role("heading", name="Hello, Grace")).to_be_visible()
    fits_and_passes_axe(phone)


def test_a_referral_becomes_a_patient_who_answers_and_signs_in_the_portal(
    browser,
    page: Page,
    live_server,
    insecure_cookies,
    console,
    clinic,
    coordinator,
    clinic_admin,
    settings,
):
    admin = clinic_admin
    settings.KETACARE_SCREENER_WORDING = str(WORDING)
    settings.KETACARE_BASE_URL = live_server.url  # the links in messages point here
    phone = phone_page(browser, live_server, console)
    refer_myself(phone, clinic)
    assert Referral.objects.get().risk == "low"

    patient = accept_referral(page, coordinator)
    assert Referral.objects.get().patient == patient

    portal_sign_in(phone, clinic)
    due = phone.get_by_role("region", name="Questionnaires to answer")
    for name in ("Patient Health Questionnaire-9", "Generalized Anxiety Disorder"):
        expect(due).to_contain_text(name)
    # Answer the GAD-7 through the portal: the questionnaire link's own page.
    due.get_by_role("listitem").filter(has_text="Generalized Anxiety").get_by_role(
        "button", name="Answer now"
    ).click()
    fits_and_passes_axe(phone)
    for number in range(1, 8):
        phone.get_by_role("group", name=re.compile(f"^{number}\\.")).get_by_label(
            "Several days"
        ).check()
    phone.get_by_role("button", name=re.compile("Send|Submit")).click()
    expect(phone.get_by_text(re.compile("Thank you"))).to_be_visible()

    # Sign the consent to ketamine treatment, on the phone.
    phone.goto("/portal/")
    phone.get_by_role("region", name="Consents to sign").get_by_role("listitem").filter(
        has_text="Consent to ketamine treatment"
    ).get_by_role("link", name="Read and sign").click()
    expect(phone.get_by_role("heading", name="Consent to ketamine treatment")).to_be_visible()
    fits_and_passes_axe(phone)
    phone.get_by_label("I have read this and agree").check()
    phone.get_by_label("Type your full name to sign").fill("Grace Hopper")
    phone.get_by_role("button", name="Sign", exact=True).click()
    expect(phone.get_by_role("heading", name="Consents")).to_be_visible()
    expect(phone.get_by_text(re.compile("^Signed on "))).to_be_visible()
    consent = ConsentRecord.objects.get(patient=patient, kind="treatment_ketamine")
    assert consent.decision == "granted" and consent.portal_signature.typed_name == "Grace Hopper"
    # Write to the clinic, and see the scores: each page fits the phone and passes axe.
    phone.goto("/portal/messages/")
    fits_and_passes_axe(phone)
    phone.get_by_role("textbox", name="Your message").fill("Do I need someone to drive me home?")
    phone.get_by_role("button", name="Send", exact=True).click()
    expect(phone.get_by_text("Do I need someone to drive me home?")).to_be_visible()
    phone.goto("/portal/scores/")
    fits_and_passes_axe(phone)
    assert console.messages == []

    # The chart shows it all: the referral, the questionnaire answered, the consent signed
    # in the portal with its exact text; the clinic admin follows it in the audit trail.
    page.goto(f"/patients/{patient.pk}/")
    expect(page.locator("#referral")).to_contain_text("Self-referral")
    consents = page.locator("#consents")
    expect(consents).to_contain_text("Grace Hopper (signed in the patient portal)")
    consents.get_by_role("link", name="signed in the portal").click()
    expect(page.get_by_text("Consent to ketamine treatment").first).to_be_visible()
    page.goto(f"/patients/{patient.pk}/measures/")
    gad7 = page.get_by_role("heading", name=re.compile("GAD-7|Generalized Anxiety"))
    expect(gad7.first).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, admin)
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Audit trail").click()
    trail = page.locator("table").first
    for action in ("Sign", "Login"):
        expect(trail).to_contain_text(action)
    events = set(AuditEvent.objects.filter(patient_id=patient.pk).values_list("role", "action"))
    assert {
        ("patient", "login"),
        ("patient", "view"),
        ("patient", "create"),  # the questionnaire's answers
        ("patient", "sign"),  # the consent
        ("coordinator", "create"),  # registered from the referral
    } <= events
