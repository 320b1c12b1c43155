"""``score_batch`` gives, row by row, exactly what ``score()`` gives; and ``score()``, now
working from a per-instrument plan, gives exactly what it gave before.

- Every instrument: random matrices (hypothesis), valid or with bad rows, one sex for all rows
  or one per row; each row's ``Score`` from the batch equals ``score()``'s, and a batch with a
  bad row raises ``score()``'s message for the first one, prefixed with its row number.
- Exhaustively, every answer set of the small instruments (all 262,144 PHQ-9 sets, GAD-7,
  AUDIT-C for both sexes, DAST-10, the C-SSRS screener with its skip logic, MOAA/S).
- ``score()`` against its pre-plan implementation, kept below as the oracle, on valid and bad
  answers of every kind (results and error messages).
"""

import itertools
from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.clinical.instruments import (
    INSTRUMENT_IDS,
    AnswerError,
    Instrument,
    Score,
    get,
    score,
    score_batch,
)
from ketacare.clinical.instruments.definitions import Flag
from ketacare.clinical.instruments.scoring import SEXES
from tests.clinical.test_instrument_properties import valid_answers

FAST = settings(max_examples=40, deadline=None)
SEX_OR_NONE = st.sampled_from([None, "female", "male"])


def per_row(instrument, matrix, sex) -> list[Score | str]:
    """``score()`` of each row, or the message of the AnswerError it raises."""
    out: list[Score | str] = []
    for index, row in enumerate(matrix.tolist()):
        row_sex = sex[index] if isinstance(sex, list) else sex
        try:
            out.append(score(instrument, row, sex=row_sex))
        except AnswerError as error:
            out.append(str(error))
    return out


def assert_batch_matches(instrument, matrix, sex) -> None:
    expected = per_row(instrument, matrix, sex)
    refused = [i for i, e in enumerate(expected) if isinstance(e, str)]
    if refused:
        first = refused[0]
        with pytest.raises(AnswerError) as error:
            score_batch(instrument, matrix, sex=sex)
        assert error.type is AnswerError
        assert str(error.value) == f"row {first}: {expected[first]}"
        return
    result = score_batch(instrument, matrix, sex=sex)
    assert len(result) == len(matrix)
    for index, want in enumerate(expected):
        assert result.row(index) == want, index
    # The columns themselves, as callers read them.
    severities = result.severities().tolist()
    assert severities == [s.severity for s in expected]
    if instrument.total_range is None:
        assert result.totals is None
    else:
        assert result.totals.tolist() == [s.total for s in expected]
    for flag in instrument.flags:
        assert result.flags[flag.id].tolist() == [flag.id in s.flags for s in expected]
    assert result.item_scores.tolist() == [list(s.item_scores) for s in expected]
    for name, column in result.subscales.items():
        assert column.tolist() == [s.subscales[name] for s in expected]


def answer_value(item):
    """Mostly an allowed answer, sometimes one just outside (or far outside) the range."""
    allowed = [o.value for o in item.options]
    return st.one_of(
        st.sampled_from(allowed),
        st.sampled_from(allowed),
        st.sampled_from(allowed),
        st.sampled_from([item.min_value - 1, item.max_value + 1, -100, 100]),
    )


def sexes_for(rows: int):
    return st.one_of(SEX_OR_NONE, st.lists(SEX_OR_NONE, min_size=rows, max_size=rows))


@pytest.mark.parametrize("instrument_id", INSTRUMENT_IDS)
@FAST
@given(data=st.data())
def test_valid_batches_equal_score_row_by_row(instrument_id, data):
    instrument = get(instrument_id)
    rows = data.draw(st.lists(valid_answers(instrument), min_size=1, max_size=40), label="rows")
    sex = data.draw(
        st.one_of(
            st.sampled_from(SEXES),
            st.lists(st.sampled_from(SEXES), min_size=len(rows), max_size=len(rows)),
        )
        if instrument.needs_sex
        else sexes_for(len(rows)),
        label="sex",
    )
    dtype = data.draw(st.sampled_from([np.int64, np.int32, np.int16, np.int8, np.uint8]))
    assert_batch_matches(instrument, np.array(rows, dtype=dtype), sex)


@pytest.mark.parametrize("instrument_id", INSTRUMENT_IDS)
@FAST
@given(data=st.data())
def test_any_batch_equals_score_or_names_the_first_row_it_refuses(instrument_id, data):
    instrument = get(instrument_id)
    row = st.tuples(*[answer_value(item) for item in instrument.items])
    rows = data.draw(st.lists(row, min_size=1, max_size=20), label="rows")
    sex = data.draw(sexes_for(len(rows)), label="sex")
    assert_batch_matches(instrument, np.array(rows, dtype=np.int64), sex)


def every_answer_set(instrument: Instrument) -> np.ndarray:
    options = [[o.value for o in item.options] for item in instrument.items]
    return np.array(list(itertools.product(*options)), dtype=np.int64)


@pytest.mark.parametrize(
    ("instrument_id", "sex"),
    [
        ("phq9", None),
        ("gad7", None),
        ("auditc", "female"),
        ("auditc", "male"),
        ("dast10", None),
        ("moaas", None),
    ],
)
def test_every_answer_set_of_the_small_instruments(instrument_id, sex):
    instrument = get(instrument_id)
    matrix = every_answer_set(instrument)
    result = score_batch(instrument, matrix, sex=sex)
    for index, row in enumerate(matrix.tolist()):
        assert result.row(index) == score(instrument, row, sex=sex), row


def test_every_cssrs_screen_answer_set_with_its_skip_logic():
    """All 128 yes/no patterns: the consistent ones score as score() does, each inconsistent
    one is refused with score()'s message."""
    instrument = get("cssrs_screen")
    matrix = every_answer_set(instrument)
    expected = per_row(instrument, matrix, None)
    valid = [i for i, e in enumerate(expected) if isinstance(e, Score)]
    assert 0 < len(valid) < len(matrix)
    result = score_batch(instrument, matrix[valid])
    for position, index in enumerate(valid):
        assert result.row(position) == expected[index]
    for index, want in enumerate(expected):
        if isinstance(want, str):
            with pytest.raises(AnswerError) as error:
                score_batch(instrument, matrix[index : index + 1])
            assert str(error.value) == f"row 0: {want}"


@pytest.mark.parametrize("instrument_id", INSTRUMENT_IDS)
def test_an_empty_batch_scores_nothing(instrument_id):
    instrument = get(instrument_id)
    result = score_batch(
        instrument, np.zeros((0, len(instrument.items)), dtype=np.int64), sex="female"
    )
    assert len(result) == 0
    assert result.severities().tolist() == []
    assert all(len(column) == 0 for column in result.flags.values())


@pytest.mark.parametrize(
    "answers",
    [
        np.ones((3, 9), dtype=bool),
        np.ones((3, 9), dtype=float),
        np.ones((3, 9), dtype=object),
        [[1] * 9],
    ],
    ids=["bool", "float", "object", "list"],
)
def test_a_batch_must_be_an_integer_array(answers):
    """Not converted: np.asarray would make True 1 and 2.0 2, which score() refuses."""
    with pytest.raises(AnswerError, match="phq9 answers must be a NumPy integer array"):
        score_batch(get("phq9"), answers)


@pytest.mark.parametrize("shape", [(3, 8), (3, 10), (9,), (2, 9, 1)])
def test_a_batch_must_have_one_column_per_item(shape):
    with pytest.raises(AnswerError, match="phq9 expects 9 answers per row, got"):
        score_batch(get("phq9"), np.zeros(shape, dtype=np.int64))


def test_per_row_sexes_must_match_the_rows():
    with pytest.raises(AnswerError, match="one per row"):
        score_batch(get("auditc"), np.zeros((3, 3), dtype=np.int64), sex=["female", "male"])


def test_a_missing_sex_names_the_row():
    matrix = np.array([[1, 1, 1]] * 3, dtype=np.int64)
    with pytest.raises(AnswerError, match=r"^row 1: auditc needs the patient's sex"):
        score_batch(get("auditc"), matrix, sex=["male", None, "female"])


# --- score() against its implementation before the scoring plan ------------------------------


def reference_validate(instrument, answers, sex=None) -> None:
    if len(answers) != len(instrument.items):
        raise AnswerError(
            f"{instrument.id} expects {len(instrument.items)} answers, got {len(answers)}"
        )
    for item, answer in zip(instrument.items, answers, strict=True):
        allowed = {o.value for o in item.options}
        if isinstance(answer, bool) or not isinstance(answer, int) or answer not in allowed:
            raise AnswerError(
                f"{instrument.id} item {item.number}: answer {answer!r} is not allowed "
                f"(allowed: {item.min_value}–{item.max_value})"
            )
    for item_number, needed in instrument.requires.items():
        item, parent = instrument.items[item_number - 1], instrument.items[needed - 1]
        if answers[item_number - 1] != item.min_value and answers[needed - 1] == parent.min_value:
            raise AnswerError(
                f"{instrument.id} item {item_number} ({item.label}) is asked only after a yes to "
                f"item {needed} ({parent.label}): it cannot be yes when item {needed} is no"
            )
    if instrument.needs_sex and sex not in SEXES:
        raise AnswerError(
            f"{instrument.id} needs the patient's sex (female or male) for its cut-point"
        )


def reference_score(instrument, answers, sex=None) -> Score:
    reference_validate(instrument, answers, sex)
    item_scores = tuple(
        (item.max_value - answer + item.min_value)
        if item.number in instrument.reverse_items
        else answer
        for item, answer in zip(instrument.items, answers, strict=True)
    )
    if instrument.scoring == "highest_risk":
        levels = instrument.risk_levels
        positive = [
            levels.index(level)
            for level, answer in zip(instrument.item_risk, item_scores, strict=True)
            if answer
        ]
        risk = levels[max(positive, default=0)]
        flags = tuple(f.id for f in instrument.flags if f.risk == risk)
        return Score(instrument.id, None, risk, flags, item_scores)
    total = sum(max(item_scores[n - 1] for n in unit) for unit in instrument.units)
    subscales = {
        name: sum(item_scores[n - 1] for n in numbers)
        for name, numbers in instrument.subscales.items()
    }
    flags = tuple(f.id for f in instrument.flags if reference_raised(f, total, item_scores, sex))
    return Score(instrument.id, total, instrument.band_for(total), flags, item_scores, subscales)


def reference_raised(flag: Flag, total: int, item_scores: Sequence[int], sex) -> bool:
    if flag.item is not None and flag.item_min is not None:
        return item_scores[flag.item - 1] >= flag.item_min
    if flag.clusters:
        return all(
            sum(item_scores[n - 1] >= flag.symptom_min for n in cluster) >= need
            for cluster, need in zip(flag.clusters, flag.clusters_need, strict=True)
        )
    if flag.total_min is not None:
        threshold = flag.total_min
        if sex == "female" and flag.total_min_female is not None:
            threshold = flag.total_min_female
        return total >= threshold
    if flag.total_max is not None:
        return total <= flag.total_max
    return False


class Rating(int):
    """An int subclass: score() accepts it (only bool is refused among ints)."""


def any_answer(item):
    allowed = [o.value for o in item.options]
    return st.one_of(
        st.sampled_from(allowed),
        st.sampled_from(allowed),
        st.sampled_from(allowed),
        st.sampled_from([item.min_value - 1, item.max_value + 1]),
        st.booleans(),
        st.sampled_from([float(v) for v in allowed]),
        st.sampled_from([Decimal(v) for v in allowed]),
        st.sampled_from([np.int64(v) for v in allowed]),
        st.sampled_from([Rating(v) for v in allowed]),
        st.sampled_from([str(v) for v in allowed]),
        st.none(),
    )


def outcome(fn, instrument, answers, sex):
    try:
        return fn(instrument, answers, sex=sex)
    except AnswerError as error:
        return f"AnswerError: {error}"


@pytest.mark.parametrize("instrument_id", INSTRUMENT_IDS)
@FAST
@given(data=st.data())
def test_score_is_unchanged_from_its_implementation_before_the_plan(instrument_id, data):
    instrument = get(instrument_id)
    n = len(instrument.items)
    answers = data.draw(
        st.one_of(
            valid_answers(instrument),
            st.lists(
                st.one_of(*[any_answer(item) for item in instrument.items]), min_size=n, max_size=n
            ),
            st.tuples(*[any_answer(item) for item in instrument.items]),
            st.lists(st.integers(0, 3), max_size=n + 2),
        ),
        label="answers",
    )
    sex = data.draw(st.sampled_from([None, "female", "male", "other"]), label="sex")
    got = outcome(score, instrument, answers, sex)
    want = outcome(reference_score, instrument, answers, sex)
    assert got == want
    if isinstance(got, Score):
        assert repr(got) == repr(want)
        assert [type(v) for v in got.item_scores] == [type(v) for v in want.item_scores]
