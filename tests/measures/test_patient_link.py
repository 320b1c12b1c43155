import re
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.clinical.instruments import get
from ketacare.measures import links
from ketacare.measures.models import PatientLink, QuestionnaireResponse, SafetyAlert
from tests.conftest import make_patient
from tests.measures.helpers import PHQ9_ITEM9, PHQ9_NO_RISK, form_data, make_link

NOT_VALID = "This link is not valid"
ALREADY = "already been answered"
EXPIRED = "This link has expired"


@pytest.fixture
def anonymous():
    return Client()


@pytest.fixture
def phq9_link(coordinator, patient):
    return make_link(coordinator, patient, "phq9")


def text(response):
    return response.content.decode()


def mentions(html, word):
    """Whether ``word`` appears as a word (not inside, say, a random CSRF token)."""
    return re.search(rf"\b{re.escape(word)}\b", html) is not None


def test_link_opens_without_login_and_greets_by_first_name_only(anonymous, phq9_link, patient):
    _, path = phq9_link
    response = anonymous.get(path)
    html = text(response)
    assert response.status_code == 200
    assert "Hello Ada" in html
    assert get("phq9").items[8].label in html
    for private in ("Lovelace", patient.mrn, "1985", "1985-12-10", "NKDA", "female"):
        assert not mentions(html, private)


def test_answers_are_saved_against_the_links_patient(anonymous, phq9_link, patient):
    link, path = phq9_link
    response = anonymous.post(path, form_data(PHQ9_NO_RISK))
    assert response.status_code == 200
    assert "Thank you" in text(response)
    saved = QuestionnaireResponse.objects.get()
    assert saved.patient == patient
    assert saved.link == link
    assert saved.source == QuestionnaireResponse.Source.PATIENT_LINK
    assert saved.entered_by is None
    assert (saved.total, saved.severity, saved.answers) == (8, "mild", PHQ9_NO_RISK)
    link.refresh_from_db()
    assert link.used_at is not None
    assert saved.completed_at == link.used_at


def test_the_answer_is_audited_as_the_patient(anonymous, phq9_link, patient, clinic):
    _, path = phq9_link
    anonymous.post(path, form_data(PHQ9_NO_RISK), REMOTE_ADDR="203.0.113.9")
    event = AuditEvent.objects.get(action="create", object_type="questionnaire_response")
    assert event.role == "patient"
    assert event.actor is None
    assert event.patient == patient
    assert event.clinic == clinic
    assert event.ip == "203.0.113.9"


def test_second_submit_gets_a_clear_gone_page(anonymous, phq9_link):
    _, path = phq9_link
    anonymous.post(path, form_data(PHQ9_NO_RISK))
    again = anonymous.post(path, form_data(PHQ9_ITEM9))
    assert again.status_code == 410
    assert ALREADY in text(again)
    assert "Hello Ada" not in text(again)
    assert QuestionnaireResponse.objects.count() == 1
    assert SafetyAlert.objects.count() == 0


def test_used_link_cannot_be_opened_again(anonymous, phq9_link):
    _, path = phq9_link
    anonymous.post(path, form_data(PHQ9_NO_RISK))
    response = anonymous.get(path)
    assert response.status_code == 410
    assert ALREADY in text(response)
    assert not mentions(text(response), "Ada")


@pytest.mark.parametrize("method", ["get", "post"])
def test_expired_link_gets_a_clear_gone_page(anonymous, phq9_link, method):
    link, path = phq9_link
    PatientLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = getattr(anonymous, method)(path, form_data(PHQ9_NO_RISK))
    assert response.status_code == 410
    assert EXPIRED in text(response)
    assert not mentions(text(response), "Ada")
    assert QuestionnaireResponse.objects.count() == 0


def _tampered(token):
    # Change one character of the signature.
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(_tampered, id="signature-changed"),
        pytest.param(lambda token: "x" + token, id="public-id-changed"),
        pytest.param(lambda token: token.split(":")[0], id="signature-missing"),
        pytest.param(lambda token: links.token_for("no-such-link"), id="valid-signature-no-link"),
        pytest.param(lambda token: signing.Signer().sign(token.split(":")[0]), id="wrong-salt"),
        pytest.param(lambda token: "nonsense", id="garbage"),
    ],
)
def test_bad_token_gets_a_not_found_page(anonymous, phq9_link, make_token):
    link, _ = phq9_link
    token = make_token(links.token_for(link.public_id))
    path = reverse("patient-link", args=[token])
    for response in (anonymous.get(path), anonymous.post(path, form_data(PHQ9_NO_RISK))):
        assert response.status_code == 404
        assert NOT_VALID in text(response)
        assert not mentions(text(response), "Ada")
    assert QuestionnaireResponse.objects.count() == 0
    link.refresh_from_db()
    assert link.used_at is None


def test_a_link_shows_and_saves_only_its_own_patient(
    anonymous, coordinator, nurse, clinic, patient
):
    other = make_patient(nurse, clinic, given_name="Bartholomew", family_name="Stone")
    _, ada_path = make_link(coordinator, patient)
    _, other_path = make_link(coordinator, other)
    html = text(anonymous.get(other_path))
    assert "Hello Bartholomew" in html
    assert not mentions(html, "Ada")
    assert not mentions(html, "Lovelace")
    anonymous.post(other_path, form_data(PHQ9_ITEM9))
    assert QuestionnaireResponse.objects.get().patient == other
    assert SafetyAlert.objects.get().patient == other
    # Ada's own link is untouched by the other patient's answers.
    assert "Hello Ada" in text(anonymous.get(ada_path))


def test_another_clinics_link_shows_its_own_patient(
    anonymous, outsider, outsider_patient, phq9_link
):
    _, path = make_link(outsider, outsider_patient)
    html = text(anonymous.get(path))
    assert "Hello Grace" in html
    assert not mentions(html, "Ada")
    assert not mentions(html, "Riverside")


def test_item9_shows_crisis_resources_and_raises_an_alert(anonymous, phq9_link, patient):
    _, path = phq9_link
    response = anonymous.post(path, form_data(PHQ9_ITEM9))
    html = text(response)
    assert response.status_code == 200
    assert 'class="crisis"' in html
    assert "988" in html
    assert "911" in html
    assert "may not be watching" in html
    alert = SafetyAlert.objects.get()
    assert alert.patient == patient
    assert alert.flag == "suicidal_ideation"
    assert alert.is_open


def test_no_crisis_box_without_item9(anonymous, phq9_link):
    _, path = phq9_link
    html = text(anonymous.post(path, form_data(PHQ9_NO_RISK)))
    assert "Thank you" in html
    assert 'class="crisis"' not in html
    assert "988" not in html
    assert "may not be watching" not in html
    assert SafetyAlert.objects.count() == 0


def test_alert_from_a_link_reaches_the_prescribers_dashboard(
    anonymous, as_user, prescriber, phq9_link
):
    _, path = phq9_link
    anonymous.post(path, form_data(PHQ9_ITEM9))
    html = text(as_user(prescriber).get(reverse("alert-dashboard")))
    assert "Ada Lovelace" in html
    assert "Safety alerts (1)" in html


def test_missing_answer_shows_errors_and_keeps_the_link(anonymous, phq9_link):
    link, path = phq9_link
    data = form_data(PHQ9_NO_RISK)
    del data["item_4"]
    response = anonymous.post(path, data)
    assert response.status_code == 200
    assert "item_4" in response.context["form"].errors
    assert "Please choose an answer for this question." in text(response)
    link.refresh_from_db()
    assert link.used_at is None
    assert QuestionnaireResponse.objects.count() == 0
    # The patient fixes the answer and sends again.
    assert "Thank you" in text(anonymous.post(path, form_data(PHQ9_NO_RISK)))
    assert QuestionnaireResponse.objects.count() == 1


def test_out_of_range_answer_shows_errors_and_keeps_the_link(anonymous, phq9_link):
    link, path = phq9_link
    response = anonymous.post(path, {**form_data(PHQ9_NO_RISK), "item_9": "9"})
    assert response.status_code == 200
    assert "item_9" in response.context["form"].errors
    link.refresh_from_db()
    assert link.used_at is None


def test_questionnaires_without_shipped_wording_cannot_be_sent_by_link(coordinator, patient):
    # C-SSRS wording is not shipped: a patient would see only "Q1".."Q6". Staff enter it instead
    # (its cross-item rule, Q7 needs Q6, is tested with staff entry).
    with pytest.raises(ValueError, match="does not ship its wording"):
        make_link(coordinator, patient, "cssrs_screen")
    assert not PatientLink.objects.exists()


@pytest.mark.parametrize(("sex_at_birth", "asked"), [("unknown", True), ("female", False)])
def test_auditc_link_asks_sex_only_when_the_chart_does_not_say(
    anonymous, coordinator, nurse, clinic, sex_at_birth, asked
):
    patient = make_patient(nurse, clinic, sex_at_birth=sex_at_birth)
    _, path = make_link(coordinator, patient, "auditc")
    assert ("sex" in anonymous.get(path).context["form"].fields) is asked
    extra = {"sex": "female"} if asked else {}
    anonymous.post(path, form_data([1, 1, 1], **extra))
    assert QuestionnaireResponse.objects.get().flags == ["positive_screen"]


def test_no_page_of_a_patient_link_is_stored_by_the_browser(anonymous, phq9_link):
    """The form, the crisis page after a risky answer, and the page for a used link."""
    _, path = phq9_link
    opened = anonymous.get(path)
    answered = anonymous.post(path, form_data(PHQ9_ITEM9), follow=True)
    again = anonymous.get(path)
    for response in (opened, answered, again):
        assert "no-store" in response["Cache-Control"]


def test_an_empty_submission_says_what_is_missing_and_saves_nothing(anonymous, phq9_link):
    _, path = phq9_link
    response = anonymous.post(path, {})
    assert response.status_code == 200
    assert response.context["form"].errors  # each unanswered question says so
    assert "Please choose an answer for this question." in text(response)
    assert not QuestionnaireResponse.objects.exists()
