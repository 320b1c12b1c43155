"""Complementary suppression: for any table with margins, no hidden count can be worked out by
subtraction from the shown ones (checked here by exact rational elimination, independently of
the module's own arithmetic), and what is hidden beyond the small cells is small itself."""

import itertools
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketacare.clinical.outcomes.cohort import config as cohort_config
from ketacare.clinical.outcomes.complementary import Margin, Rest, complementary

MINIMUM = 11
TOTAL = "*"


def determined(cells, margins, known):
    """The variables (cells and rests) whose value is the same in every solution of the
    margins' equations once the ``known`` cells are fixed: exact Gauss-Jordan over the
    rationals on the unknown columns (e_i in their row space)."""
    variables = list(cells)
    for margin in margins:
        if not margin.complete:
            variables.append(Rest(margin))
    unknown = [v for v in variables if v not in known]
    column = {v: i for i, v in enumerate(unknown)}
    rows = []
    for margin in margins:
        row = [Fraction(0)] * len(unknown)
        terms = [(margin.total, 1), *((p, -1) for p in margin.parts)]
        if not margin.complete:
            terms.append((Rest(margin), -1))
        for v, sign in terms:
            if v in column:
                row[column[v]] += sign
        rows.append(row)
    pivots, r = [], 0
    for c in range(len(unknown)):
        k = next((i for i in range(r, len(rows)) if rows[i][c] != 0), None)
        if k is None:
            continue
        rows[r], rows[k] = rows[k], rows[r]
        rows[r] = [x / rows[r][c] for x in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][c] != 0:
                factor = rows[i][c]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append(c)
        r += 1
    found = set()
    for i, c in enumerate(pivots):
        if sum(1 for x in rows[i] if x != 0) == 1:
            found.add(unknown[c])
    return found


def protected(cells, margins, hidden, unpublished, minimum=MINIMUM):
    """What must stay unknown: the hidden cells, small unpublished cells, rests of 1-10."""
    keep = set(hidden) | {k for k in unpublished if cells[k] < minimum}
    for margin in margins:
        if not margin.complete:
            rest = cells[margin.total] - sum(cells[p] for p in margin.parts)
            if 0 < rest < minimum:
                keep.add(Rest(margin))
    return keep


def known_rests(cells, margins, minimum=MINIMUM):
    """Rests taken as known: 0 or at least the minimum (only a small rest is a secret)."""
    known = set()
    for margin in margins:
        if not margin.complete:
            rest = cells[margin.total] - sum(cells[p] for p in margin.parts)
            if not 0 < rest < minimum:
                known.add(Rest(margin))
    return known


def structurally_fixed(cells, margins):
    """Variables determined by the margins and the known rests alone (nothing can protect
    them)."""
    return determined(cells, margins, known=known_rests(cells, margins))


@st.composite
def tables(draw):
    """A contingency table of 1 to 3 dimensions with every margin (a total at any level of
    any dimension), counts skewed small; some dimensions with an unlisted rest, some cells
    never published and some pairs of cells shown as one quantity."""
    dims = draw(st.lists(st.integers(2, 4), min_size=1, max_size=3))
    inner = list(itertools.product(*(range(n) for n in dims)))
    counts = draw(
        st.lists(
            st.one_of(st.integers(0, 12), st.integers(0, 60)),
            min_size=len(inner),
            max_size=len(inner),
        )
    )
    value = dict(zip(inner, counts, strict=True))
    # The last level of a dimension may be left unlisted: its cells are rests.
    unlisted = draw(st.lists(st.booleans(), min_size=len(dims), max_size=len(dims)))
    levels = [[*range(n - 1 if drop else n), TOTAL] for n, drop in zip(dims, unlisted, strict=True)]
    cells = {}
    for key in itertools.product(*levels):
        cells[key] = sum(
            v for k, v in value.items() if all(a in (TOTAL, b) for a, b in zip(key, k, strict=True))
        )
    margins = []
    for key in cells:
        for d, level in enumerate(key):
            if level == TOTAL:
                parts = tuple((*key[:d], i, *key[d + 1 :]) for i in levels[d][:-1])
                margins.append(Margin(key, parts, complete=not unlisted[d]))
    keys = list(cells)
    unpublished = draw(st.lists(st.sampled_from(keys), max_size=2, unique=True))
    by_count = {}
    for key in keys:
        by_count.setdefault(cells[key], []).append(key)
    alike = [group for group in by_count.values() if len(group) > 1]
    same = []
    if alike:
        for group in draw(st.lists(st.sampled_from(alike), max_size=2)):
            same.append(draw(st.lists(st.sampled_from(group), min_size=2, max_size=3)))
    return cells, margins, unpublished, same


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_no_hidden_cell_is_recoverable_by_subtraction(table):
    cells, margins, unpublished, same = table
    hidden = complementary(cells, margins, MINIMUM, unpublished=unpublished, same=same)
    shown = set(cells) - hidden - set(unpublished)
    assert {k for k in shown if cells[k] < MINIMUM} == set()
    for group in same:  # one quantity: shown everywhere or nowhere
        assert len({k in shown for k in group}) == 1
    # A researcher knows that linked cells are one quantity: their equality is in the system.
    margins = [*margins, *(Margin(group[0], (key,)) for group in same for key in group[1:])]
    fixed = structurally_fixed(cells, margins)
    exposed = determined(cells, margins, known=shown | known_rests(cells, margins))
    leaks = (protected(cells, margins, hidden, unpublished) & exposed) - fixed
    assert leaks == set(), {str(k): cells.get(k) for k in leaks}


def test_a_total_minus_the_shown_parts_no_longer_gives_the_hidden_one():
    # Women 20, men 15, intersex 5 of 40: hiding 5 alone leaves 40 - 20 - 15.
    cells = {"all": 40, "female": 20, "male": 15, "intersex": 5}
    hidden = complementary(cells, [Margin("all", ("female", "male", "intersex"))], MINIMUM)
    assert hidden == {"intersex", "male"}  # the smallest other part, not the total


def test_an_unlisted_rest_is_protected_too():
    # 40 patients, 20 and 15 in the listed age bands: 5 are in none, and that is a small cell.
    cells = {"all": 40, "18-29": 20, "30-44": 15}
    assert complementary(cells, [Margin("all", ("18-29", "30-44"), complete=False)], 11) == {
        "30-44"
    }
    # An empty rest reveals nobody, and is taken as known: nobody is under 18.
    cells = {"all": 40, "18-29": 20, "30-44": 15, "45-64": 5}
    margin = Margin("all", ("18-29", "30-44", "45-64"), complete=False)
    assert complementary(cells, [margin], 11) == {"30-44", "45-64"}


def test_a_total_or_its_only_shown_part_goes_the_smaller_first():
    # 25 screened, 20 started: both shown would give the 5 who dropped out (never shown).
    cells = {"screened": 25, "started": 20, "dropped": 5}
    margin = Margin("screened", ("started", "dropped"))
    assert complementary(cells, [margin], MINIMUM, unpublished=["dropped"]) == {"started"}
    # A part hidden for another reason already covers it.
    assert complementary(
        cells, [margin], MINIMUM, unpublished=["dropped"], suppressed=["started"]
    ) == {"started"}


def test_the_same_quantity_in_two_panels_is_hidden_in_both():
    cells = {"flow started": 8, "safety patients": 8}
    hidden = complementary(cells, [], MINIMUM, same=[("flow started", "safety patients")])
    assert hidden == {"flow started", "safety patients"}
    # Large enough: shown in both.
    cells = {"flow started": 18, "safety patients": 18}
    assert complementary(cells, [], MINIMUM, same=[("flow started", "safety patients")]) == set()


def test_two_hidden_cells_per_row_and_column_are_not_always_enough():
    """Two 2x2 blocks of hidden cells joined by one hidden cell: every row and column with a
    hidden cell has two, yet the joining cell is a difference of shown totals. The exact test
    hides one more."""
    rows, cols = range(4), range(4)
    value = {(r, c): 30 for r in rows for c in cols}
    small = {(0, 0): 3, (0, 1): 3, (1, 0): 3, (1, 1): 3, (2, 2): 3, (2, 3): 3, (3, 2): 3}
    value.update(small)
    value[(3, 3)] = 3
    cells = dict(value)
    for r in rows:
        cells[(r, TOTAL)] = sum(value[(r, c)] for c in cols)
    for c in cols:
        cells[(TOTAL, c)] = sum(value[(r, c)] for r in rows)
    cells[(TOTAL, TOTAL)] = sum(value.values())
    margins = [Margin((r, TOTAL), tuple((r, c) for c in cols)) for r in [*rows, TOTAL]]
    margins += [Margin((TOTAL, c), tuple((r, c) for r in rows)) for c in [*cols, TOTAL]]
    hidden = complementary(cells, margins, MINIMUM)
    shown = set(cells) - hidden
    assert determined(cells, margins, shown) & hidden == set()


def test_a_margin_that_does_not_add_up_or_a_link_of_two_counts_is_refused():
    with pytest.raises(ValueError, match="add up"):
        complementary({"all": 10, "a": 4, "b": 4}, [Margin("all", ("a", "b"))], MINIMUM)
    with pytest.raises(ValueError, match="same count"):
        complementary({"a": 4, "b": 5}, [], MINIMUM, same=[("a", "b")])


def test_the_minimum_is_the_data_file_s():
    assert cohort_config.settings().small_cell_minimum == MINIMUM
