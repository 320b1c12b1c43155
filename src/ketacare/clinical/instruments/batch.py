"""Scoring many answer sets at once with NumPy, with the same results as ``score()`` per row.

For bulk work (a registry rebuild, a synthetic clinic, a benchmark): one row per answer set, one
column per item. Every instrument can be batched, the C-SSRS screener's skip logic included;
``tests/clinical/test_batch_scoring.py`` checks each one against ``score()`` row by row.

>>> import numpy as np
>>> from ketacare.clinical.instruments import get
>>> result = score_batch(get("phq9"), np.array([[1] * 9, [0] * 8 + [2]]))
>>> result.totals.tolist(), result.severities().tolist()
([9, 2], ['mild', 'minimal'])
>>> result.flags["suicidal_ideation"].tolist()
[True, True]
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ketacare.clinical.instruments.definitions import Flag, Instrument
from ketacare.clinical.instruments.scoring import (
    SEXES,
    AnswerError,
    Score,
    plan_for,
    validate,
)

Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Sexes = str | Sequence[str | None] | None
RowSexes = str | NDArray[np.object_] | None
"""One sex for every row, or one per row."""


@dataclass(frozen=True, eq=False)
class BatchScores:
    """The scores of ``len(self)`` answer sets, as columns.

    ``severity_index`` indexes ``severity_labels`` (the bands in data-file order, or the risk
    levels of a highest-risk instrument); -1 where the total has no band (instruments without
    bands)."""

    instrument: str
    totals: Ints | None
    """None for instruments that are not summed (the C-SSRS screener), as ``Score.total``."""
    severity_index: NDArray[np.intp]
    severity_labels: tuple[str, ...]
    flags: dict[str, Bools]
    """Flag id -> whether each row raises it, in the instrument's flag order."""
    item_scores: Ints
    """Read-only; shares memory with int64 answers that have no reverse-scored item."""
    subscales: dict[str, Ints]

    def __len__(self) -> int:
        return len(self.item_scores)

    def severities(self) -> NDArray[np.object_]:
        """The severity label of each row (None where it has none), as ``Score.severity``."""
        labels = np.array([*self.severity_labels, None], dtype=object)
        return labels[self.severity_index]  # -1 picks the trailing None

    def row(self, index: int) -> Score:
        """Row ``index`` as the ``Score`` that ``score()`` gives for it."""
        severity = int(self.severity_index[index])
        return Score(
            instrument=self.instrument,
            total=None if self.totals is None else int(self.totals[index]),
            severity=None if severity < 0 else self.severity_labels[severity],
            flags=tuple(flag for flag, raised in self.flags.items() if raised[index]),
            item_scores=tuple(int(v) for v in self.item_scores[index]),
            subscales={name: int(values[index]) for name, values in self.subscales.items()},
        )


def score_batch(
    instrument: Instrument, answers: NDArray[np.integer], sex: Sexes = None
) -> BatchScores:
    """Score every row of ``answers`` (shape ``(rows, items)``, an integer array) as ``score()``
    would; ``sex`` is one value for all rows or one per row.

    Raises AnswerError for the first row (0-based) that ``score()`` would refuse, with its
    message: ``"row 7: phq9 item 2: answer 4 is not allowed (allowed: 0–3)"``.
    """
    plan = plan_for(instrument)
    if not isinstance(answers, np.ndarray) or answers.dtype.kind not in "iu":
        # Not converted here: np.asarray would turn True into 1 and 2.0 into 2, which score()
        # refuses.
        kind = answers.dtype if isinstance(answers, np.ndarray) else type(answers).__name__
        raise AnswerError(f"{instrument.id} answers must be a NumPy integer array, not {kind}")
    if answers.ndim != 2 or answers.shape[1] != plan.n_items:
        got = answers.shape[1] if answers.ndim == 2 else f"an array of shape {answers.shape}"
        raise AnswerError(f"{instrument.id} expects {plan.n_items} answers per row, got {got}")
    rows = len(answers)
    sexes = _sexes(sex, rows)
    _check(instrument, answers, sexes)

    # Not copied when the answers are already int64 (a million rows need no second copy): a
    # read-only view of them, unless items are reversed.
    item_scores = answers.astype(np.int64, copy=False)
    if plan.reverse:
        item_scores = item_scores.copy()
        for index, top in plan.reverse:
            item_scores[:, index] = top - item_scores[:, index]
    item_scores = item_scores.view()
    item_scores.flags.writeable = False
    subscales = {
        name: item_scores[:, [n - 1 for n in numbers]].sum(axis=1)
        for name, numbers in instrument.subscales.items()
    }

    if plan.highest_risk:
        levels = np.array(plan.risk_of_item, dtype=np.intp)
        risk = ((item_scores != 0) * levels).max(axis=1, initial=0)
        flags = {
            f.id: risk == instrument.risk_levels.index(f.risk)
            if f.risk in instrument.risk_levels
            else np.zeros(rows, dtype=bool)
            for f in instrument.flags
        }
        return BatchScores(
            instrument.id, None, risk, instrument.risk_levels, flags, item_scores, subscales
        )

    if plan.groups:
        totals = np.zeros(rows, dtype=np.int64)
        for unit in plan.groups:
            totals += (
                item_scores[:, list(unit)].max(axis=1) if len(unit) > 1 else item_scores[:, unit[0]]
            )
    else:
        totals = item_scores.sum(axis=1, dtype=np.int64)
    # A valid row's total lies in the instrument's total range, which ``plan.bands`` covers
    # from its lowest total up, one entry per total.
    labels = tuple(band.id for band in instrument.bands)
    table = np.array([-1 if b is None else labels.index(b) for b in plan.bands.values()])
    severity = table.astype(np.intp)[totals - min(plan.bands)]
    flags = {f.id: _raised(f, totals, item_scores, sexes) for f in instrument.flags}
    return BatchScores(instrument.id, totals, severity, labels, flags, item_scores, subscales)


def _sexes(sex: Sexes, rows: int) -> RowSexes:
    if sex is None or isinstance(sex, str):
        return sex
    sexes = np.array(list(sex), dtype=object)
    if sexes.shape != (rows,):
        raise AnswerError(f"sex must be one value or one per row ({rows}), got {len(sexes)}")
    return sexes


def _check(instrument: Instrument, answers: NDArray[np.integer], sexes: RowSexes) -> None:
    """Raise what ``validate`` raises for the first row it would refuse, naming that row."""
    plan = plan_for(instrument)
    rows = len(answers)
    if not rows:
        return
    bad: Bools | None = None
    if all(low == 0 for low in plan.lowest) and all(
        allowed == frozenset(range(high + 1))
        for allowed, high in zip(plan.allowed, plan.highest, strict=True)
    ):
        # The common case, in one pass: options 0..highest, so a negative answer read as
        # unsigned is huge and any answer out of range exceeds its item's highest value.
        unsigned = answers.view(answers.dtype.str.replace("i", "u"))
        if (unsigned.max(axis=0) > np.array(plan.highest, dtype=unsigned.dtype)).any():
            above = unsigned > np.array(plan.highest, dtype=unsigned.dtype)
            bad = np.asarray(above.any(axis=1), dtype=bool)
    else:
        allowed = np.column_stack(
            [np.isin(answers[:, j], sorted(plan.allowed[j])) for j in range(plan.n_items)]
        )
        if not allowed.all():
            bad = ~np.asarray(allowed.all(axis=1), dtype=bool)
    for index, parent, lowest, parent_lowest in plan.requires:
        skipped = (answers[:, index] != lowest) & (answers[:, parent] == parent_lowest)
        if skipped.any():
            bad = skipped if bad is None else bad | skipped
    if instrument.needs_sex:
        if isinstance(sexes, np.ndarray):
            unsexed = ~np.isin(sexes, SEXES)
            if unsexed.any():
                bad = unsexed if bad is None else bad | unsexed
        elif sexes not in SEXES:
            bad = np.ones(rows, dtype=bool)
    if bad is None or not bad.any():
        return
    row = int(np.argmax(bad))
    row_sex = sexes[row] if isinstance(sexes, np.ndarray) else sexes
    try:
        validate(instrument, [int(v) for v in answers[row]], row_sex)
    except AnswerError as error:
        raise AnswerError(f"row {row}: {error}") from error
    raise AssertionError(
        f"row {row} was refused here but validate() accepts it"
    )  # pragma: no cover


def _raised(flag: Flag, totals: Ints, item_scores: Ints, sexes: RowSexes) -> Bools:
    """``scoring._raised`` over all rows: the same rules in the same order."""
    if flag.item is not None and flag.item_min is not None:
        return item_scores[:, flag.item - 1] >= flag.item_min
    if flag.clusters:
        assert flag.symptom_min is not None
        symptoms = item_scores >= flag.symptom_min
        met = np.ones(len(totals), dtype=bool)
        for cluster, need in zip(flag.clusters, flag.clusters_need, strict=True):
            met &= symptoms[:, [n - 1 for n in cluster]].sum(axis=1) >= need
        return met
    if flag.total_min is not None:
        if flag.total_min_female is None:
            return totals >= flag.total_min
        female = sexes == "female"
        threshold = np.where(female, flag.total_min_female, flag.total_min)
        return totals >= threshold
    if flag.total_max is not None:
        return totals <= flag.total_max
    return np.zeros(len(totals), dtype=bool)
