"""``safety_signals``: the one function that decides which responses open a safety alert, for
every instrument. The suicide items (PHQ-9 item 9, QIDS-SR16 item 12, MADRS item 10) raise the
same ``suicidal_ideation`` alert at thresholds kept in each instrument's data file
(clinical-reference §1 and §7), tested here on both sides of each threshold."""

import pytest

from ketacare.clinical.instruments import INSTRUMENT_IDS, get, score
from ketacare.clinical.instruments.definitions import DefinitionError, parse
from ketacare.clinical.safety import recorded_signal, safety_signals

# (instrument, item, highest answer that raises nothing, lowest that raises the alert, label)
SUICIDE_ITEMS = [
    ("phq9", 9, 0, 1, "thoughts of death or self-harm"),
    ("qids_sr16", 12, 0, 1, "thoughts of death or suicide"),
    ("madrs", 10, 3, 4, "suicidal thoughts"),
]


def answers_with(instrument_id: str, item: int, value: int) -> list[int]:
    answers = [0] * len(get(instrument_id).items)
    answers[item - 1] = value
    return answers


@pytest.mark.parametrize(("instrument_id", "item", "below", "at", "label"), SUICIDE_ITEMS)
def test_below_the_threshold_raises_nothing(instrument_id, item, below, at, label):
    result = score(get(instrument_id), answers_with(instrument_id, item, below))
    assert "suicidal_ideation" not in result.flags
    assert safety_signals(result) == []


@pytest.mark.parametrize(("instrument_id", "item", "below", "at", "label"), SUICIDE_ITEMS)
def test_at_the_threshold_raises_one_alert_naming_the_item(instrument_id, item, below, at, label):
    instrument = get(instrument_id)
    (signal,) = safety_signals(score(instrument, answers_with(instrument_id, item, at)))
    assert signal.flag == "suicidal_ideation"
    assert (signal.instrument, signal.item, signal.item_label, signal.answer) == (
        instrument.short_name,
        item,
        label,
        at,
    )
    assert signal.finding == f"{instrument.short_name} item {item} ({label}) = {at}"
    assert signal.rule == f"{instrument.short_name} item {item} ({label}) at {at} or above"
    flag = next(f for f in instrument.flags if f.id == "suicidal_ideation")
    assert signal.source == flag.source


@pytest.mark.parametrize(("instrument_id", "item", "below", "at", "label"), SUICIDE_ITEMS)
def test_every_answer_above_the_threshold_raises_it_too(instrument_id, item, below, at, label):
    top = get(instrument_id).items[item - 1].max_value
    for value in range(at, top + 1):
        (signal,) = safety_signals(
            score(get(instrument_id), answers_with(instrument_id, item, value))
        )
        assert signal.answer == value


def test_exactly_the_instruments_that_ask_about_suicide_define_the_flag():
    defining = {i for i in INSTRUMENT_IDS if any(f.id == "suicidal_ideation" for f in get(i).flags)}
    assert defining == {i for i, *_ in SUICIDE_ITEMS}


@pytest.mark.parametrize("instrument_id", ["qids_sr16", "madrs"])
def test_the_new_thresholds_are_labelled_clinic_policy_with_their_reference(instrument_id):
    flag = next(f for f in get(instrument_id).flags if f.id == "suicidal_ideation")
    assert "Clinic policy" in flag.source
    assert "editable" in flag.source
    assert "§7" in flag.source


def test_every_flag_that_alerts_says_what_it_is_in_words():
    for instrument_id in INSTRUMENT_IDS:
        instrument = get(instrument_id)
        for flag in instrument.flags:
            if flag.item is not None:
                assert flag.label, (instrument_id, flag.id)


def test_cssrs_alert_names_the_questions_answered_yes():
    (signal,) = safety_signals(score(get("cssrs_screen"), [1, 1, 1, 0, 0, 1, 0]))
    assert signal.flag == "risk_moderate"
    assert signal.item is None
    assert signal.finding == "C-SSRS screen: yes to Q1, Q2, Q3, Q6 (ever)"
    assert "behavioural-health referral" in signal.rule


def test_cssrs_low_risk_raises_no_alert():
    assert safety_signals(score(get("cssrs_screen"), [1, 1, 0, 0, 0, 0, 0])) == []


def test_a_recorded_alert_keeps_its_answer_whatever_the_threshold_is_now():
    # Raised when the clinic's MADRS threshold was lower: the record still says item 10 = 2.
    signal = recorded_signal(
        "madrs", "suicidal_ideation", "MADRS item 10 at 2 or above", "policy then", [0] * 9 + [2]
    )
    assert signal.finding == "MADRS item 10 (suicidal thoughts) = 2"
    assert (signal.rule, signal.source) == ("MADRS item 10 at 2 or above", "policy then")


MINIMAL = {
    "id": "x",
    "name": "X",
    "short_name": "X",
    "version": "1",
    "source": "s",
    "licence": "l",
    "item_text_licensed": False,
    "respondent": "patient",
    "scoring": "sum",
    "items_count": 3,
    "options": {"values": [0, 1]},
}


def test_a_flag_on_a_reverse_scored_item_is_refused():
    raw = {**MINIMAL, "reverse_items": [2], "flags": [{"id": "f", "item": 2, "min": 1}]}
    with pytest.raises(DefinitionError, match="not reverse-scored"):
        parse(raw)


def test_skip_logic_may_only_follow_an_earlier_item():
    with pytest.raises(DefinitionError, match="earlier item"):
        parse({**MINIMAL, "requires": {"2": 3}})
