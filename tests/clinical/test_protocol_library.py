"""Every protocol file carries what a plan and the dosing day read from it, with sources."""

import pytest

from ketacare.clinical.eligibility import ROUTES
from ketacare.clinical.pk import MODEL_IDS
from ketacare.clinical.protocols.library import PROTOCOL_IDS, get_protocol
from ketacare.clinical.protocols.monitoring import observation_minutes, planned_vital_signs


@pytest.mark.parametrize("protocol_id", PROTOCOL_IDS)
def test_each_protocol_names_its_route_model_monitoring_and_instructions(protocol_id):
    protocol = get_protocol(protocol_id)
    assert protocol.eligibility_route in ROUTES
    assert protocol.pk_model in MODEL_IDS
    assert protocol.monitoring["source"]
    assert protocol.raw["pre_dose"]["source"]
    assert protocol.pre_dose_instructions
    assert protocol.starting_dose in protocol.dose_choices


@pytest.mark.parametrize("protocol_id", ["esketamine_trd", "esketamine_mdd_si"])
def test_esketamine_follows_the_label_monitoring(protocol_id):
    # Spravato label and REMS: BP before dosing and at about 40 min; at least 2 hours.
    protocol = get_protocol(protocol_id)
    times = [check.at_min for check in planned_vital_signs(protocol)]
    assert times == [0, 40, None]
    assert observation_minutes(protocol) == 120


def test_iv_vitals_every_10_min_during_and_15_after_the_infusion():
    protocol = get_protocol("iv_ketamine")
    checks = planned_vital_signs(protocol, dose_minutes=60)
    during = [c.at_min for c in checks if c.label == "during the dose"]
    after = [c.at_min for c in checks if c.label == "after the dose"]
    assert during == [10, 20, 30, 40, 50, 60]
    assert after == [75, 90]
    assert observation_minutes(protocol, 60) == 90
    assert checks[-1].label == "before discharge"


def test_a_protocol_file_without_monitoring_is_refused(monkeypatch):
    from ketacare.clinical.protocols import library

    raw = dict(get_protocol("iv_ketamine").raw)
    del raw["monitoring"]
    get_protocol.cache_clear()
    monkeypatch.setattr(library, "load", lambda *a, **k: raw)
    try:
        with pytest.raises(ValueError, match="has no 'monitoring'"):
            get_protocol("iv_ketamine")
    finally:
        get_protocol.cache_clear()


@pytest.mark.parametrize(
    "protocol_id", [p for p in PROTOCOL_IDS if "maintenance" in get_protocol(p).raw]
)
def test_a_maintenance_phase_starts_when_induction_ends_and_cites_the_label(protocol_id):
    import itertools

    from ketacare.clinical.protocols.schedule import maintenance_phases

    protocol = get_protocol(protocol_id)
    phases = maintenance_phases(protocol)
    induction = protocol.raw["induction"]
    assert phases[0].first_week == induction["sessions"] // induction["per_week"] + 1
    for before, after in itertools.pairwise(phases):
        assert before.last_week is not None and after.first_week == before.last_week + 1
    assert phases[-1].last_week is None  # from week 9 on, for as long as it is continued
    assert "[confirmed, label]" in protocol.raw["maintenance"]["source"]
