import pytest
from django.urls import reverse
from django.utils import timezone

from ketacare.measures import actions
from tests.conftest import actor

ACK_FORM = 'action="{}"'


def chart_url(patient):
    return reverse("patient-chart", args=[patient.pk])


def measures_url(patient):
    return reverse("patient-measures", args=[patient.pk])


@pytest.mark.parametrize("page", [chart_url, measures_url])
@pytest.mark.parametrize("role", ["nurse", "prescriber"])
def test_open_alert_shows_on_the_patients_pages(as_user, staff, patient, alert, page, role):
    html = as_user(staff[role]).get(page(patient)).content.decode()
    assert 'class="alert-safety"' in html
    assert alert.rule in html


@pytest.mark.parametrize("page", [chart_url, measures_url])
def test_only_the_prescriber_gets_the_acknowledge_form(
    as_user, prescriber, nurse, patient, alert, page
):
    action = ACK_FORM.format(reverse("alert-acknowledge", args=[alert.pk]))
    assert action in as_user(prescriber).get(page(patient)).content.decode()
    nurse_html = as_user(nurse).get(page(patient)).content.decode()
    assert action not in nurse_html
    assert "Open until a prescriber acknowledges it" in nurse_html


def test_dashboard_lists_the_alert_with_the_patients_name(as_user, prescriber, patient, alert):
    response = as_user(prescriber).get(reverse("alert-dashboard"))
    html = response.content.decode()
    assert response.status_code == 200
    assert list(response.context["open_alerts"]) == [alert]
    assert "Ada Lovelace" in html
    assert patient.mrn in html
    assert alert.rule in html
    assert "No open safety alerts" not in html


def test_nurse_sees_the_dashboard_too(as_user, nurse, alert):
    response = as_user(nurse).get(reverse("alert-dashboard"))
    assert response.status_code == 200
    assert "Ada Lovelace" in response.content.decode()


@pytest.mark.parametrize("role", ["coordinator", "clinic_admin", "researcher"])
def test_roles_that_do_not_handle_alerts_get_no_dashboard(as_user, staff, alert, role):
    assert as_user(staff[role]).get(reverse("alert-dashboard")).status_code == 403


def test_dashboard_without_alerts_says_so(as_user, prescriber, patient):
    html = as_user(prescriber).get(reverse("alert-dashboard")).content.decode()
    assert "No open safety alerts" in html
    assert "Ada Lovelace" not in html


def test_nav_shows_the_open_count_on_every_page(as_user, nurse, clinic, patient, alert):
    client = as_user(nurse)
    assert "Safety alerts (1)" in client.get(reverse("patient-list")).content.decode()
    actions.record_staff_response(
        actor(nurse, clinic), patient, "phq9", [0, 0, 0, 0, 0, 0, 0, 0, 2], timezone.now()
    )
    assert "Safety alerts (2)" in client.get(reverse("patient-list")).content.decode()


def test_nav_count_drops_when_the_alert_is_acknowledged(as_user, prescriber, alert):
    client = as_user(prescriber)
    client.post(reverse("alert-acknowledge", args=[alert.pk]), {"note": "Called; safe."})
    html = client.get(reverse("patient-list")).content.decode()
    assert "Safety alerts (" not in html
    assert "Safety alerts" in html


def test_another_clinic_sees_neither_the_alert_nor_its_count(as_user, outsider, alert):
    client = as_user(outsider)
    html = client.get(reverse("alert-dashboard")).content.decode()
    assert "Ada Lovelace" not in html
    assert "No open safety alerts" in html
    assert "Safety alerts (" not in client.get(reverse("patient-list")).content.decode()


@pytest.fixture
def madrs_alert(nurse, clinic, patient):
    response = actions.record_staff_response(
        actor(nurse, clinic), patient, "madrs", [1] * 9 + [5], timezone.now()
    )
    return response.alerts.get()


FINDING = "MADRS item 10 (suicidal thoughts) = 5 on "


@pytest.mark.parametrize("page", [chart_url, measures_url])
def test_the_patients_pages_say_which_item_raised_the_alert(
    as_user, nurse, patient, madrs_alert, page
):
    html = as_user(nurse).get(page(patient)).content.decode()
    assert FINDING + timezone.localdate().isoformat() in html
    assert "MADRS item 10 (suicidal thoughts) at 4 or above" in html


def test_the_dashboard_says_which_item_raised_each_alert(as_user, prescriber, madrs_alert, alert):
    html = as_user(prescriber).get(reverse("alert-dashboard")).content.decode()
    assert FINDING in html
    assert "PHQ-9 item 9 (thoughts of death or self-harm) = 1 on " in html
    assert f'id="alert-{madrs_alert.pk}"' in html  # the notification email links here


def test_acknowledged_alerts_keep_saying_what_raised_them(as_user, prescriber, madrs_alert):
    client = as_user(prescriber)
    client.post(reverse("alert-acknowledge", args=[madrs_alert.pk]), {"note": "Seen today."})
    html = client.get(reverse("alert-dashboard")).content.decode()
    assert "Recently acknowledged" in html
    assert FINDING in html
