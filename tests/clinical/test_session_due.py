"""What is due next in a session and when the patient may go, from plain values and a given
``now``: the pre-dose vitals, a recheck before the protocol's next check, a check taken a
little early counting for it (clinic policy, session_thresholds.toml), the next nasal device,
and the board's "ready for discharge" asking the discharge criteria only when it can be."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ketacare.clinical.datafiles import load
from ketacare.clinical.protocols.library import get_protocol
from ketacare.clinical.protocols.monitoring import VitalCheck, planned_vital_signs
from ketacare.clinical.session import RaisedAlert, VitalSigns, rechecks_due
from ketacare.clinical.session.due import (
    devices_due,
    early_minutes,
    minutes_since,
    next_vitals,
)
from ketacare.clinical.session.readiness import earliest_discharge, ready_for_discharge

T0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
EVERY_TEN = [
    VitalCheck(0, "before dosing"),
    VitalCheck(10, "after the dose"),
    VitalCheck(20, "after the dose"),
    VitalCheck(None, "before discharge"),
]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def due(now: datetime, last: datetime | None = None, rechecks=(), planned=EVERY_TEN, **kw):
    values = {"waiting_for_gate": False, "dosed_at": T0, **kw}
    return next_vitals(
        rechecks=rechecks,
        planned=planned,
        last_monitoring_at=last,
        now=now,
        tz=UTC,
        **values,
    )


def test_a_checked_in_patient_needs_vitals_before_dosing():
    shown = due(at(0), waiting_for_gate=True, dosed_at=None)
    assert (shown.label, shown.at, shown.overdue) == ("before dosing", None, False)


def test_nothing_is_due_without_a_dose_running_or_watched():
    assert due(at(0), dosed_at=None) is None


def test_the_first_planned_check_after_the_dose_and_when_it_is_late():
    first = due(at(5))
    assert (first.label, first.at, first.overdue) == ("10 min (after the dose)", at(10), False)
    assert due(at(10.5)).overdue


def test_a_check_taken_a_little_early_counts_for_it():
    """The tolerance is the data file's, and it ends exactly there."""
    early = early_minutes()
    assert early == load("session_thresholds")["vitals_due"]["early_minutes"] > 0
    assert due(at(11), last=at(10 - early)).at == at(20)
    assert due(at(11), last=at(10 - early) - timedelta(seconds=1)).at == at(10)


def test_after_the_last_timed_check_the_check_before_discharge_is_due():
    shown = due(at(25), last=at(20))
    assert (shown.label, shown.at, shown.overdue) == ("before discharge", None, False)
    assert due(at(25), last=at(20), planned=EVERY_TEN[:-1]) is None


def test_a_recheck_comes_before_the_protocol_s_next_check():
    alert = [RaisedAlert("severe_hypertension", at(3))]
    rechecks = rechecks_due(alert, [(at(3), VitalSigns(systolic=190, diastolic=100))])
    shown = due(at(5), last=at(3), rechecks=rechecks)
    assert shown.label == "recheck blood pressure (alert at 10:03)"
    assert shown.at == at(18) and not shown.overdue
    assert due(at(19), last=at(3), rechecks=rechecks).overdue


def test_the_recheck_time_is_shown_in_the_clinic_s_time_zone():
    alert = [RaisedAlert("desaturation", at(3))]
    rechecks = rechecks_due(alert, [(at(3), VitalSigns(spo2=88))])
    ahead = next_vitals(
        waiting_for_gate=False,
        dosed_at=T0,
        rechecks=rechecks,
        planned=EVERY_TEN,
        last_monitoring_at=at(3),
        now=at(4),
        tz=ZoneInfo("Asia/Kolkata"),
    )
    assert ahead.label == "recheck SpO₂ (alert at 15:33)"


def test_esketamine_asks_for_its_blood_pressure_at_40_minutes():
    checks = planned_vital_signs(get_protocol("esketamine_trd"))
    assert due(at(1), planned=checks).at == at(40)


def test_minutes_since_the_dose():
    assert minutes_since(T0, at(12.9)) == 12
    assert minutes_since(None, at(12)) is None


def test_nasal_devices_wait_their_interval():
    devices = devices_due(
        dose_mg=Decimal(84), mg_per_device=Decimal(28), minutes_between=5, given_at=[at(0)]
    )
    assert (devices.given, devices.needed, devices.next_at) == (1, 3, at(5))
    none_yet = devices_due(
        dose_mg=Decimal(56), mg_per_device=Decimal(28), minutes_between=5, given_at=[]
    )
    assert (none_yet.given, none_yet.needed, none_yet.next_at) == (0, 2, None)


def test_the_earliest_discharge_is_the_minimum_observation_after_the_dose():
    assert earliest_discharge(T0, 120) == at(120)
    assert earliest_discharge(None, 120) is None


class Blockers:
    """The discharge criteria not met, counting how often they were asked."""

    def __init__(self, problems: list[str]) -> None:
        self.problems, self.asked = problems, 0

    def __call__(self) -> list[str]:
        self.asked += 1
        return self.problems


def ready(now: datetime, blockers: Blockers, **kw) -> bool:
    values = {"monitoring": True, "dosed_at": T0, "open_alerts": 0, "minimum_minutes": 60, **kw}
    return ready_for_discharge(now=now, blockers=blockers, **values)


@pytest.mark.parametrize(
    "now, kw",
    [
        (at(59), {}),  # before the minimum observation time
        (at(90), {"open_alerts": 1}),
        (at(90), {"monitoring": False}),
        (at(90), {"dosed_at": None}),
    ],
)
def test_not_ready_without_asking_the_discharge_criteria(now, kw):
    blockers = Blockers([])
    assert not ready(now, blockers, **kw)
    assert blockers.asked == 0


def test_ready_when_every_discharge_criterion_is_met():
    assert ready(at(60), Blockers([]))
    still = Blockers(["blood pressure still rising"])
    assert not ready(at(60), still) and still.asked == 1
