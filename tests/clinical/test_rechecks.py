"""After a monitoring alert, what it measured is due again within the check's recheck time
(clinic policy in session_thresholds.toml); a later observation measuring it takes the
recheck, an earlier or partial one does not."""

from datetime import datetime, timedelta

from ketacare.clinical.datafiles import load
from ketacare.clinical.session import RaisedAlert, VitalSigns, rechecks_due

T0 = datetime(2026, 12, 6, 10, 0)
BP = VitalSigns(systolic=150, diastolic=90)


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def test_every_alert_has_a_recheck_time_in_the_data_file():
    for alert in load("session_thresholds")["alerts"]:
        assert alert["recheck_minutes"] > 0 and alert["policy"] is True


def test_a_blood_pressure_alert_wants_a_blood_pressure_within_15_minutes():
    (due,) = rechecks_due([RaisedAlert("severe_hypertension", at(0))], [(at(0), BP)])
    assert due.what == "blood pressure" and due.due_at == at(15)
    assert not due.overdue(at(15)) and due.overdue(at(15.1))


def test_a_later_observation_of_what_alerted_takes_the_recheck():
    alert = [RaisedAlert("severe_hypertension", at(0))]
    assert rechecks_due(alert, [(at(0), BP), (at(12), BP)]) == []
    # A heart rate alone is no blood-pressure recheck; a systolic without diastolic neither.
    partial = [(at(12), VitalSigns(heart_rate=80)), (at(13), VitalSigns(systolic=140))]
    assert len(rechecks_due(alert, [(at(0), BP), *partial])) == 1


def test_each_alert_wants_its_own_recheck():
    alerts = [RaisedAlert("severe_hypertension", at(0)), RaisedAlert("desaturation", at(2))]
    due = rechecks_due(alerts, [(at(0), BP), (at(2), VitalSigns(spo2=90))])
    assert [d.what for d in due] == ["SpO₂", "blood pressure"]  # earliest due first
