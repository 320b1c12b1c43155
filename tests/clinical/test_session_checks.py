"""The dosing day's checks: implausible vitals refused, the pre-dose gate by route, alerts
while monitoring, and discharge criteria — each check naming its source."""

import pytest

from ketacare.clinical.session import (
    VitalSigns,
    alerts,
    discharge_problems,
    plausibility_problems,
    pre_dose_gate,
)

NORMAL = VitalSigns(systolic=124, diastolic=78, heart_rate=72, spo2=98, respiratory_rate=14)


@pytest.mark.parametrize(
    ("vitals", "message"),
    [
        (VitalSigns(systolic=80, diastolic=95), "must be below systolic"),
        (VitalSigns(heart_rate=0), "heart rate 0 is outside"),
        (VitalSigns(heart_rate=251), "heart rate 251 is outside"),
        (VitalSigns(spo2=101), "spo2 101 is outside"),
        (VitalSigns(systolic=1400), "systolic 1400 is outside"),
        (VitalSigns(moaas=6), "MOAA/S 6 is outside"),
    ],
)
def test_implausible_vitals_are_named(vitals, message):
    assert any(message in p for p in plausibility_problems(vitals))


def test_normal_vitals_are_plausible_and_pass_every_gate():
    assert plausibility_problems(NORMAL) == []
    for route in ("iv_ketamine", "im_ketamine", "intranasal_esketamine"):
        assert pre_dose_gate(route, NORMAL) == []
        assert alerts(route, NORMAL) == []


def test_esketamine_above_140_90_needs_the_prescriber_per_the_label():
    (fired,) = pre_dose_gate("intranasal_esketamine", VitalSigns(142, 88, 80, 97))
    assert fired.check.id == "esketamine_bp_above_140_90"
    assert not fired.check.policy
    assert "Spravato" in fired.check.source
    assert fired.values == {"systolic": 142}


def test_at_the_threshold_the_gate_passes():
    assert pre_dose_gate("intranasal_esketamine", VitalSigns(140, 90, 80, 97)) == []


def test_racemic_ketamine_gate_is_clinic_policy():
    (fired,) = pre_dose_gate("iv_ketamine", VitalSigns(150, 95, 80, 97))
    assert fired.check.id == "ketamine_bp_above_140_90"
    assert fired.check.policy
    assert fired.values == {"systolic": 150, "diastolic": 95}


def test_the_gate_needs_every_pre_dose_measurement():
    with pytest.raises(ValueError, match="spo2"):
        pre_dose_gate("iv_ketamine", VitalSigns(120, 80, 70))


@pytest.mark.parametrize(
    ("vitals", "alert_id"),
    [
        (VitalSigns(systolic=185, diastolic=100), "severe_hypertension"),
        (VitalSigns(heart_rate=125), "tachycardia"),
        (VitalSigns(spo2=90), "desaturation"),
        (VitalSigns(respiratory_rate=8), "bradypnoea"),
        (VitalSigns(moaas=2), "deep_sedation"),
    ],
)
def test_monitoring_alerts(vitals, alert_id):
    assert [f.check.id for f in alerts("iv_ketamine", vitals)] == [alert_id]


def test_discharge_needs_time_vitals_sedation_dissociation_and_an_adult():
    problems = discharge_problems(
        minutes_since_dose=90,
        minimum_minutes=120,
        vitals=VitalSigns(170, 85, 80, 97, 14, moaas=4),
        dissociation_resolved=False,
        responsible_adult_needed=True,
        responsible_adult_present=False,
    )
    assert problems == [
        "observed 90 of at least 120 minutes",
        "Systolic pressure 170 (160 or less needed)",
        "Sedation: MOAA/S 4 (5 needed)",
        "dissociation not recorded as resolved",
        "no responsible adult to take the patient home",
    ]
    assert (
        discharge_problems(
            minutes_since_dose=121,
            minimum_minutes=120,
            vitals=VitalSigns(130, 80, 80, 97, 14, moaas=5),
            dissociation_resolved=True,
            responsible_adult_needed=False,
            responsible_adult_present=False,
        )
        == []
    )
