"""Each hard limit of the dose calculator refuses with a message naming its rule."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from ketacare.clinical.datafiles import load
from ketacare.clinical.protocols import (
    PROTOCOL_IDS,
    DoseRefused,
    calculate_dose,
    check_dose,
    get_protocol,
)

TODAY = date(2026, 11, 29)
IV = get_protocol("iv_ketamine")


def iv(**changes):
    order = {
        "mg_per_kg": D("0.5"),
        "weight_kg": D("70"),
        "weight_measured_on": TODAY - timedelta(days=3),
        "today": TODAY,
        "vial_mg_per_ml": D("10"),
        "infusion_minutes": 40,
    }
    order.update(changes)
    return calculate_dose(IV, **order)


def refused(rule, **changes):
    with pytest.raises(DoseRefused) as refusal:
        iv(**changes)
    assert refusal.value.rule == rule
    assert f"[rule: {rule}]" in str(refusal.value)
    return str(refusal.value)


def test_standard_iv_dose():
    order = iv()
    assert order.dose_mg == D("35.0")
    assert order.volume_ml == D("3.5")
    # 100 mL bag plus 3.5 mL of drug over 40 minutes.
    assert order.rate_ml_per_h == D("155.3")
    assert order.weight_basis == "actual weight"
    assert order.protocol_version == IV.version


def test_volume_rounds_down_to_what_a_syringe_measures():
    order = iv(weight_kg=D("73.3"), vial_mg_per_ml=D("50"))  # 36.65 mg = 0.733 mL
    assert order.volume_ml == D("0.7")
    assert order.dose_mg == D("35.0")
    assert order.dose_mg <= D("0.5") * D("73.3")


def test_titration_steps_are_allowed():
    # 52.5 mg is 5.25 mL of 10 mg/mL: measured as 5.2 mL, never rounded up past the order.
    assert iv(mg_per_kg=D("0.75")).dose_mg == D("52.0")
    assert iv(mg_per_kg=D("1.0")).dose_mg == D("70.0")


def test_iv_above_one_mg_per_kg_is_refused_as_anaesthetic_range():
    # For IV the protocol ceiling and the anaesthetic range meet at 1.0 mg/kg.
    message = refused("anaesthetic_range", mg_per_kg=D("1.1"))
    assert "anaesthetic range" in message


def test_im_protocol_maximum_and_anaesthetic_range_are_separate_rules():
    im = get_protocol("im_ketamine")
    base = {
        "weight_kg": D("70"),
        "weight_measured_on": TODAY,
        "today": TODAY,
        "vial_mg_per_ml": D("50"),
    }
    with pytest.raises(DoseRefused) as over:
        calculate_dose(im, mg_per_kg=D("1.2"), **base)
    assert over.value.rule == "above_protocol_max_mg_per_kg"
    with pytest.raises(DoseRefused) as anaesthetic:
        calculate_dose(im, mg_per_kg=D("6.5"), **base)
    assert anaesthetic.value.rule == "anaesthetic_range"
    assert calculate_dose(im, mg_per_kg=D("0.5"), **base).rate_ml_per_h is None


def test_absolute_maximum_is_refused():
    message = refused("above_absolute_max_mg", mg_per_kg=D("1.0"), weight_kg=D("150"))
    assert "absolute maximum of 120 mg" in message


def test_a_large_rounding_loss_is_refused():
    # 0.5 mg/kg × 57.2 kg = 28.6 mg; 50 mg/mL measures 0.5 mL = 25 mg, 12.6 % short.
    message = refused("rounding_loss", weight_kg=D("57.2"), vial_mg_per_ml=D("50"))
    assert "28.6 mg rounds down to 25.0 mg" in message
    assert "12.6 % less than prescribed" in message
    assert "more dilute vial" in message
    # The same dose from 10 mg/mL (1 mg steps) loses 0.6 mg, 2.1 %.
    assert iv(weight_kg=D("57.2"), vial_mg_per_ml=D("10")).dose_mg == D("28.0")


def test_old_weight_is_refused():
    limit = load("dose_policy")["weight_max_age_days"]
    iv(weight_measured_on=TODAY - timedelta(days=limit))
    message = refused("weight_too_old", weight_measured_on=TODAY - timedelta(days=limit + 1))
    assert f"{limit + 1} days old" in message


def test_zero_dose_missing_vial_and_wrong_infusion_length_are_refused():
    refused("dose_not_positive", mg_per_kg=D("0"))
    refused("vial_needed", vial_mg_per_ml=None)
    assert "40 or 60 minutes" in refused("infusion_length", infusion_minutes=30)
    refused(
        "below_measurable_volume", mg_per_kg=D("0.01"), weight_kg=D("4"), vial_mg_per_ml=D("100")
    )


def test_adjusted_body_weight_above_the_clinic_bmi_threshold():
    # 130 kg, 175 cm: BMI 42.4. Devine ideal (male) 50 + 2.3 x 8.9 in = 70.5 kg;
    # adjusted 70.5 + 0.4 x (130 - 70.5) = 94.3 kg.
    order = iv(
        weight_kg=D("130"),
        height_cm=D("175"),
        sex="male",
        use_adjusted_weight=True,
        vial_mg_per_ml=D("50"),
    )
    assert order.weight_used_kg == D("94.3")
    assert order.weight_basis.startswith("adjusted body weight")
    lean = iv(weight_kg=D("70"), height_cm=D("175"), sex="male", use_adjusted_weight=True)
    assert lean.weight_used_kg == D("70")
    refused("adjusted_weight_needs_height_and_sex", use_adjusted_weight=True, height_cm=None)


def test_esketamine_is_whole_devices_of_label_doses():
    esketamine = get_protocol("esketamine_trd")
    assert calculate_dose(esketamine, fixed_mg=D("84")).devices == 3
    assert calculate_dose(esketamine, fixed_mg=D("56")).devices == 2
    with pytest.raises(DoseRefused) as refusal:
        calculate_dose(esketamine, fixed_mg=D("70"))
    assert refusal.value.rule == "whole_devices"
    with pytest.raises(DoseRefused) as refusal:
        calculate_dose(esketamine, fixed_mg=D("112"))
    assert refusal.value.rule == "dose_not_in_label"
    assert "56 mg, 84 mg" in str(refusal.value)


@pytest.mark.parametrize(
    ("dose", "rule"),
    [
        ("84", None),
        ("85", "whole_devices"),
        ("70", "whole_devices"),
        ("168", "dose_not_in_label"),
        ("0", "dose_not_positive"),
        ("-28", "dose_not_positive"),
    ],
)
def test_a_bedside_esketamine_dose_obeys_the_label(dose, rule):
    """check_dose is what a prescriber's changed dose at the bedside must pass."""
    esketamine = get_protocol("esketamine_trd")
    if rule is None:
        check_dose(esketamine, D(dose), None)
        return
    with pytest.raises(DoseRefused) as refusal:
        check_dose(esketamine, D(dose), None)
    assert refusal.value.rule == rule


@pytest.mark.parametrize(
    ("dose", "weight", "rule"),
    [
        ("61.5", "61.5", None),  # 1.0 mg/kg: the protocol's maximum, allowed
        ("62.1", "61.5", "anaesthetic_range"),  # 1.01 mg/kg: past the 1.0 ceiling
        ("400", "61.5", "anaesthetic_range"),
        ("120", "120", None),
        ("121", "130", "above_absolute_max_mg"),  # 0.93 mg/kg but above the 120 mg cap
    ],
)
def test_a_bedside_iv_dose_obeys_the_protocol_on_the_plans_weight(dose, weight, rule):
    iv_protocol = get_protocol("iv_ketamine")
    if rule is None:
        check_dose(iv_protocol, D(dose), D(weight))
        return
    with pytest.raises(DoseRefused) as refusal:
        check_dose(iv_protocol, D(dose), D(weight))
    assert refusal.value.rule == rule


def test_the_calculator_and_the_bedside_refuse_the_same_mg_per_kg():
    """One rule: 1.01 mg/kg is refused by the calculator and, as mg, at the bedside."""
    iv_protocol = get_protocol("iv_ketamine")
    with pytest.raises(DoseRefused) as planned:
        calculate_dose(
            iv_protocol,
            mg_per_kg=D("1.01"),
            weight_kg=D("100"),
            weight_measured_on=date.today(),
            today=date.today(),
            vial_mg_per_ml=D("10"),
            infusion_minutes=40,
        )
    with pytest.raises(DoseRefused) as bedside:
        check_dose(iv_protocol, D("101"), D("100"))
    assert planned.value.rule == bedside.value.rule == "anaesthetic_range"


def test_every_protocol_has_version_source_and_limits():
    for protocol_id in PROTOCOL_IDS:
        protocol = get_protocol(protocol_id)
        assert protocol.version and protocol.source and protocol.limits
