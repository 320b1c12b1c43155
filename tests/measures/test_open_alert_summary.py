"""``open_alert_summary(patient)``: the patient's open alerts in words, for messages to staff
such as the check-in refusal."""

from datetime import timedelta

from django.utils import timezone

from ketacare.measures import actions
from ketacare.measures.queries import open_alert_summary
from tests.conftest import actor, make_patient


def enter(nurse, clinic, patient, instrument_id, answers, days_ago=0):
    return actions.record_staff_response(
        actor(nurse, clinic),
        patient,
        instrument_id,
        answers,
        timezone.now() - timedelta(days=days_ago),
    )


def test_none_without_open_alerts(nurse, clinic, patient):
    enter(nurse, clinic, patient, "madrs", [6] * 9 + [3])  # severe, but item 10 below 4
    assert open_alert_summary(patient) is None


def test_names_the_instrument_item_answer_and_day(nurse, clinic, patient):
    enter(nurse, clinic, patient, "qids_sr16", [0] * 11 + [2] + [0] * 4, days_ago=1)
    day = timezone.localdate(timezone.now() - timedelta(days=1))
    assert open_alert_summary(patient) == (
        f"QIDS-SR16 item 12 (thoughts of death or suicide) = 2 on {day.isoformat()}"
    )


def test_lists_every_open_alert_oldest_first(nurse, clinic, patient):
    enter(nurse, clinic, patient, "madrs", [0] * 9 + [5], days_ago=3)
    enter(nurse, clinic, patient, "phq9", [0] * 8 + [1])
    summary = open_alert_summary(patient)
    assert summary is not None
    first, second = summary.split("; ")
    assert first.startswith("MADRS item 10 (suicidal thoughts) = 5 on ")
    assert second.startswith("PHQ-9 item 9 (thoughts of death or self-harm) = 1 on ")


def test_acknowledged_alerts_and_other_patients_are_left_out(nurse, prescriber, clinic, patient):
    other = make_patient(nurse, clinic, given_name="Grace", family_name="Hopper")
    enter(nurse, clinic, other, "phq9", [0] * 8 + [3])
    response = enter(nurse, clinic, patient, "phq9", [0] * 8 + [2])
    actions.acknowledge_alert(actor(prescriber, clinic), response.alerts.get(), "Called; safe.")
    assert open_alert_summary(patient) is None
    assert open_alert_summary(other).startswith("PHQ-9 item 9")


def test_a_cssrs_alert_names_the_questions_answered_yes(nurse, clinic, patient):
    enter(nurse, clinic, patient, "cssrs_screen", [1, 1, 0, 0, 1, 0, 0])
    assert open_alert_summary(patient).startswith("C-SSRS screen: yes to Q1, Q2, Q5 on ")
