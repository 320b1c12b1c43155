import tomllib
from importlib.resources import files

import pytest
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.clinical.instruments import get
from ketacare.measures import actions
from ketacare.measures.models import SafetyAlert
from tests.conftest import actor
from tests.measures.helpers import PHQ9_NO_RISK, staff_form_data

SAFETY = tomllib.loads(files("ketacare.clinical").joinpath("data/safety.toml").read_text("utf-8"))
RULES = {(a.get("instrument"), a["flag"]): a.get("rule") for a in SAFETY["alerts"]}
CSSRS_SOURCES = {a["flag"]: a["source"] for a in SAFETY["alerts"] if "source" in a}


def enter(nurse, clinic, patient, instrument_id, answers):
    return actions.record_staff_response(
        actor(nurse, clinic), patient, instrument_id, answers, timezone.now()
    )


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_phq9_item9_above_zero_opens_one_alert(nurse, clinic, patient, item9):
    response = enter(nurse, clinic, patient, "phq9", [*PHQ9_NO_RISK[:8], item9])
    alert = SafetyAlert.objects.get()
    assert alert.patient == patient
    assert alert.response == response
    assert alert.flag == "suicidal_ideation"
    assert alert.rule == "PHQ-9 item 9 (thoughts of death or self-harm) at 1 or above"
    assert alert.source == next(f for f in get("phq9").flags if f.id == "suicidal_ideation").source
    assert alert.finding == (
        f"PHQ-9 item 9 (thoughts of death or self-harm) = {item9} on {timezone.localdate()}"
    )
    assert alert.is_open
    assert alert.acknowledged_by is None
    assert alert.acknowledgement_note == ""


def test_phq9_item9_zero_raises_no_alert_even_when_severe(nurse, clinic, patient):
    response = enter(nurse, clinic, patient, "phq9", [3, 3, 3, 3, 3, 3, 3, 3, 0])
    assert response.severity == "severe"
    assert SafetyAlert.objects.count() == 0


@pytest.mark.parametrize(
    ("answers", "flag"),
    [
        ([1, 1, 1, 0, 0, 0, 0], "risk_moderate"),  # Q3: active ideation, no method
        ([1, 1, 0, 0, 0, 1, 0], "risk_moderate"),  # behaviour, more than 3 months ago
        ([1, 1, 1, 1, 0, 0, 0], "risk_high"),  # Q4: some intent
        ([1, 1, 1, 1, 1, 0, 0], "risk_high"),  # Q5: plan and intent
        ([0, 1, 0, 0, 1, 0, 0], "risk_high"),  # Q5 without Q3
        ([0, 0, 0, 0, 0, 1, 1], "risk_high"),  # behaviour within 3 months
    ],
)
def test_cssrs_moderate_or_high_risk_opens_one_alert(nurse, clinic, patient, answers, flag):
    enter(nurse, clinic, patient, "cssrs_screen", answers)
    alert = SafetyAlert.objects.get()
    assert alert.flag == flag
    assert alert.rule == RULES[("cssrs_screen", flag)]
    assert alert.source == CSSRS_SOURCES[flag]
    assert alert.is_open
    labels = [item.label for item, a in zip(get("cssrs_screen").items, answers, strict=True) if a]
    assert alert.signal.finding == f"C-SSRS screen: yes to {', '.join(labels)}"


@pytest.mark.parametrize("answers", [[1, 0, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0], [0] * 7])
def test_cssrs_low_or_no_risk_raises_no_alert(nurse, clinic, patient, answers):
    enter(nurse, clinic, patient, "cssrs_screen", answers)
    assert SafetyAlert.objects.count() == 0


@pytest.mark.parametrize(
    ("instrument_id", "answers"),
    [
        ("gad7", [3] * 7),
        ("madrs", [6] * 9 + [3]),  # severe, item 10 below its threshold
        ("qids_sr16", [3] * 11 + [0] + [3] * 4),  # very severe, item 12 "none"
        ("dast10", [1, 1, 0, 1, 1, 1, 1, 1, 1, 1]),
    ],
)
def test_other_answers_raise_no_alert_however_severe(
    nurse, clinic, patient, instrument_id, answers
):
    enter(nurse, clinic, patient, instrument_id, answers)
    assert SafetyAlert.objects.count() == 0


def test_each_response_opens_its_own_alert(nurse, clinic, patient):
    enter(nurse, clinic, patient, "phq9", [*PHQ9_NO_RISK[:8], 1])
    enter(nurse, clinic, patient, "phq9", [*PHQ9_NO_RISK[:8], 2])
    assert SafetyAlert.objects.filter(acknowledged_at__isnull=True).count() == 2


def test_alert_is_audited_against_the_patient(nurse, clinic, patient):
    enter(nurse, clinic, patient, "phq9", [*PHQ9_NO_RISK[:8], 1])
    alert = SafetyAlert.objects.get()
    event = AuditEvent.objects.get(action="create", object_type="safety_alert")
    assert event.object_id == str(alert.pk)
    assert event.patient == patient
    assert event.changes == {"flag": {"old": None, "new": "suicidal_ideation"}}


def test_staff_entry_with_item9_tells_the_nurse_an_alert_was_raised(as_user, nurse, patient):
    url = reverse("measure-enter", kwargs={"pk": patient.pk, "instrument_id": "phq9"})
    data = staff_form_data([*PHQ9_NO_RISK[:8], 1])
    response = as_user(nurse).post(url, data, follow=True)
    assert SafetyAlert.objects.count() == 1
    assert "Safety alert raised" in response.content.decode()
