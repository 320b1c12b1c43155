"""Who sees which failed job: the clinic admin their clinic's and the system-wide ones, with
no patient's data; other roles are refused, anonymous users sent to sign in."""

import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import ROLES, _staff, client_for
from tests.jobs.conftest import run_worker
from tests.jobs.tasks import everywhere, gateway_down, quotes_a_patient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_periodic_jobs")]


@pytest.fixture
def one_attempt(settings):
    """No retries: each job fails at its first attempt (the retries are test_retries')."""
    settings.KETACARE_JOB_RETRY_DELAYS = []


def shown(user):
    response = client_for(user).get(reverse("failed-jobs"))
    assert response.status_code == 200
    return response


@pytest.mark.usefixtures("one_attempt")
def test_each_clinic_admin_sees_their_clinics_and_the_system_wide_failures(
    clinic, other_clinic, clinic_admin
):
    gateway_down.enqueue(clinic_id=clinic.pk)
    gateway_down.enqueue(clinic_id=other_clinic.pk)
    everywhere.enqueue()
    run_worker()
    other_admin = _staff(other_clinic, "clinic_admin", username="other-admin")
    for admin in (clinic_admin, other_admin):
        jobs = shown(admin).context["jobs"]
        assert sorted((job.what, job.system_wide) for job in jobs) == [
            ("A job of no clinic that fails", True),
            ("Send the clinic's messages through a gateway that is down", False),
        ]
    assert "(all clinics)" in shown(clinic_admin).content.decode()


@pytest.mark.usefixtures("one_attempt")
def test_another_clinics_admin_sees_nothing_of_this_clinics_failures(
    clinic, other_clinic, clinic_admin
):
    gateway_down.enqueue(clinic_id=clinic.pk)
    run_worker()
    assert len(shown(clinic_admin).context["jobs"]) == 1
    other_admin = _staff(other_clinic, "clinic_admin", username="other-admin")
    response = shown(other_admin)
    assert response.context["jobs"] == []
    assert "gateway" not in response.content.decode()


@pytest.mark.usefixtures("one_attempt")
def test_an_error_that_may_name_a_patient_is_shown_by_its_kind_only(clinic, clinic_admin):
    quotes_a_patient.enqueue(clinic_id=clinic.pk)
    run_worker()
    response = shown(clinic_admin)
    [job] = response.context["jobs"]
    assert job.error == "ValueError (details in the worker's log)"
    page = response.content.decode()
    for detail in ("Lovelace", "1000001", "PHQ-9"):
        assert detail not in page


def test_only_the_clinic_admin_may_open_it(client, staff):
    url = reverse("failed-jobs")
    for role in ROLES:
        expected = 200 if role == "clinic_admin" else 403
        assert client_for(staff[role]).get(url).status_code == expected, role
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_clinic_admins_top_bar_links_to_it(staff):
    link = f'href="{reverse("failed-jobs")}"'
    assert link in client_for(staff["clinic_admin"]).get(reverse("staff-list")).content.decode()
    nurse_page = client_for(staff["nurse"]).get(reverse("chair-board")).content.decode()
    assert link not in nurse_page


def test_the_demo_shows_one_failed_job(clinic, clinic_admin):
    from ketacare.web.demo_jobs import seed_failed_job

    seed_failed_job(clinic)
    seed_failed_job(clinic)  # a second start of the demo adds none
    [job] = shown(clinic_admin).context["jobs"]
    assert job.what == "Send the clinic's messages through its SMS gateway"
    assert job.attempts == len(settings.KETACARE_JOB_RETRY_DELAYS) + 1
    assert "no gateway account" in job.error
