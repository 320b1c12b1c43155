"""A nurse signs in, registers a patient and finds them again, in a real browser."""

import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from ketacare.patients.models import Patient
from tests.conftest import PASSWORD, make_patient

pytestmark = pytest.mark.browser

# Screenshots for a human (or a CI artifact) to look at; /tmp unless told otherwise.
SCREENSHOTS = Path(os.environ.get("KETACARE_SCREENSHOTS") or tempfile.gettempdir())
CHART_URL = re.compile(r"/patients/(\d+)/$")
LIST_URL = re.compile(r"/patients/(\?.*)?$")


def sign_in(page: Page, user) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Each role lands on its own start page; these tests begin at the patient list.
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("navigation").get_by_role("link", name="Patients").click()
    expect(page).to_have_url(LIST_URL)
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()


def test_register_and_find_patient(page: Page, console, coordinator, clinic, nurse):
    # Someone else is already registered, so that the search has something to leave out.
    make_patient(coordinator, clinic, given_name="Ada", family_name="Lovelace", weight_kg=None)

    # A nurse, because registration with a first measured weight is a nurse's (or prescriber's).
    sign_in(page, nurse)
    # htmx is a deferred static script; CSP would block it if it were served inline.
    assert page.evaluate("typeof htmx") == "object"

    page.get_by_role("link", name="New patient").click()
    expect(page.get_by_role("heading", name="New patient")).to_be_visible()
    page.get_by_label("Given name").fill("Wilhelmina")
    page.get_by_label("Family name").fill("Oyelaran")
    page.get_by_label("Date of birth").fill("1979-03-14")
    page.get_by_label("Sex at birth").select_option(label="Female")
    page.get_by_label("Allergies").fill("Penicillin — rash")
    page.get_by_label("Weight (kg)").fill("72.4")
    page.get_by_label("Height (cm)").fill("168")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(CHART_URL)
    patient = Patient.objects.get(clinic=clinic, family_name="Oyelaran")
    expect(page.get_by_role("heading", level=1)).to_have_text("Wilhelmina Oyelaran")
    expect(page.get_by_role("status")).to_have_text(
        f"Registered Wilhelmina Oyelaran, MRN {patient.mrn}."
    )
    expect(page.locator(".toolbar .mono").first).to_have_text(patient.mrn)
    expect(page.locator("#measurements")).to_contain_text("72.4 kg")
    assert str(patient.date_of_birth) == "1979-03-14"
    assert patient.sex_at_birth == "female"
    measurement = patient.measurements.get()
    assert (str(measurement.weight_kg), str(measurement.height_cm)) == ("72.4", "168.0")
    page.screenshot(path=SCREENSHOTS / "ketacare-chart.png", full_page=True)

    page.get_by_role("navigation").get_by_role("link", name="Patients").click()
    expect(page).to_have_url(LIST_URL)
    results = page.locator("#results")
    expect(results.get_by_role("link", name="Lovelace, Ada")).to_be_visible()
    expect(results.get_by_role("link", name="Oyelaran, Wilhelmina")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "ketacare-list.png", full_page=True)

    # Live search: htmx swaps #results as we type, without reloading the page. A marker on
    # `window` survives only if the page was not reloaded.
    page.evaluate("window.stillTheSamePage = true")
    search = page.get_by_role("searchbox", name="Search patients")
    with page.expect_response(lambda r: "q=Oye" in r.url and r.request.headers.get("hx-request")):
        search.press_sequentially("Oye", delay=30)
    expect(results.get_by_role("link", name="Oyelaran, Wilhelmina")).to_be_visible()
    expect(results.get_by_role("link", name="Lovelace, Ada")).to_have_count(0)
    # Live search leaves no patient names in the browser history of a shared workstation.
    expect(page).to_have_url(re.compile(r"/patients/$"))
    assert page.evaluate("window.stillTheSamePage") is True

    # The plain form works too (no JavaScript needed): a full page load with the query.
    search.fill("oyelaran")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/patients/\?q=oyelaran$"))
    assert page.evaluate("window.stillTheSamePage") is None
    expect(page.get_by_role("searchbox", name="Search patients")).to_have_value("oyelaran")
    expect(results.get_by_role("link", name="Lovelace, Ada")).to_have_count(0)

    results.get_by_role("link", name="Oyelaran, Wilhelmina").click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Wilhelmina Oyelaran")

    assert console.messages == []


def test_future_date_of_birth_is_refused(page: Page, console, coordinator, clinic):
    sign_in(page, coordinator)
    page.get_by_role("link", name="New patient").click()
    page.get_by_label("Given name").fill("Tomorrow")
    page.get_by_label("Family name").fill("Child")
    future = timezone.localdate() + timedelta(days=30)
    page.get_by_label("Date of birth").fill(future.isoformat())
    page.get_by_label("Sex at birth").select_option(label="Male")
    page.get_by_label("Allergies").fill("NKDA")
    page.get_by_role("button", name="Save").click()

    # The form comes back with the error next to the field and the typed values kept.
    expect(page).to_have_url(re.compile(r"/patients/new/$"))
    date_of_birth = page.get_by_label("Date of birth")
    dob_field = page.locator(".field", has=date_of_birth)
    expect(dob_field.locator(".error")).to_have_text("Date of birth is in the future.")
    expect(dob_field).to_have_class(re.compile(r"\binvalid\b"))
    expect(date_of_birth).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field.invalid")).to_have_count(1)
    expect(page.get_by_label("Family name")).to_have_value("Child")
    expect(date_of_birth).to_have_value(future.isoformat())
    assert not Patient.objects.filter(clinic=clinic).exists()
    assert console.messages == []


def test_idle_page_leaves_for_the_login_page(page: Page, console, nurse, patient, settings):
    # The server-side timeout, shortened so the test need not wait 15 minutes.
    settings.KETACARE_IDLE_TIMEOUT_SECONDS = 1
    sign_in(page, nurse)
    page.goto(f"/patients/{patient.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    expect(page).to_have_url(re.compile(r"/login/\?next="), timeout=8000)
    expect(page.get_by_role("status")).to_contain_text("You were signed out after")
    assert "Lovelace" not in page.content()
    page.go_back()
    expect(page).to_have_url(re.compile(r"/login/"))  # no-store: the chart is not shown again
