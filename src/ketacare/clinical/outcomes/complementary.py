"""Complementary cell suppression: which further counts to hide so that no hidden count can be
worked out by subtraction from the counts shown.

A table is a set of counts ("cells") tied together by margins: a total that is the sum of its
parts (the patients of every sex add up to all patients; a flow step's patients are the next
step's plus those who dropped out). Hiding the small cells (primary suppression) is not enough:
with a total and all its parts but one shown, the hidden one is the difference. So more cells
are hidden (secondary, or complementary, suppression) until no protected cell is *determined*
by the linear system that the margins make with the shown cells, i.e. takes the same value in
every solution of it. The test is exact linear algebra, not the rule of thumb "every row with
a hidden cell has two", which margins that cross can defeat (a hidden cell that is the only
link between two groups of hidden cells is still a difference of shown ones).

Cells are shown largest first, and one is hidden instead whenever showing it would determine
a protected cell: the Gaussian-elimination method of Langsrud (2024, "Secondary cell
suppression by Gaussian elimination: an algorithm suitable for handling issues with zeros
and singletons", doi 10.1007/978-3-031-69651-0_6; the R package GaussSuppression). The
complements are therefore the smallest cells that do the job, and a total gives way only when
its parts cannot. Every hidden cell, complements included, ends up undetermined (unless the
margins alone fix it): a complement that the others determined would have determined the
cell it protects.

The arithmetic is over the integers modulo a large prime (exact, and fast over numpy). It
agrees with rational arithmetic unless the prime divides a determinant of the margins' system;
tables of sums have determinants of a few units, far below the prime. Beyond subtraction, the
bounds of a count (never negative) can still narrow a hidden cell: when the hidden cells of a
margin add up to a shown 0 they are all 0. Only cells of 1 to ``minimum - 1`` people are
secret under the policy the minimum comes from, and a hidden 0 that is shown to be 0 is what
the table's margins state.
"""

from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

K = TypeVar("K", bound=Hashable)
Ints = npt.NDArray[np.int64]

_P = 2_147_483_647  # 2**31 - 1: a product of two residues still fits in an int64


@dataclass(frozen=True)
class Margin(Generic[K]):
    """``total`` is the sum of ``parts``; with ``complete`` False, of ``parts`` and a rest that
    is never shown (the patients in none of the listed parts, such as those of no listed age
    band). The rest is protected when it holds 1 to ``minimum - 1``. Otherwise it is taken as
    known, for it may well be: a clinic of adults has nobody under the first age band, and an
    empty group outside every listed part is no one's secret."""

    total: K
    parts: tuple[K, ...]
    complete: bool = True


@dataclass(frozen=True)
class Rest(Generic[K]):
    """The rest of an incomplete margin: its total's count minus its parts'."""

    margin: Margin[K]


def complementary(
    cells: Mapping[K, int],
    margins: Iterable[Margin[K]],
    minimum: int,
    *,
    unpublished: Collection[K] = (),
    suppressed: Collection[K] = (),
    same: Iterable[Collection[K]] = (),
) -> frozenset[K]:
    """The cells to hide: every published cell below ``minimum`` (0 included), every one in
    ``suppressed`` (hidden for another reason), and the complements that keep all of those,
    and every ``unpublished`` cell below ``minimum``, from being worked out by subtraction.

    ``unpublished`` cells are never shown (a complement such as the non-responders, which a
    total and its shown part would give away). Each collection in ``same`` is one quantity
    shown in several places (the patients who started, in the flow and in the safety panel),
    so its cells hold the same count: it is shown everywhere or hidden everywhere. Cells are
    considered largest first, ties in the order of ``cells``."""
    linked: list[list[K]] = [list(group) for group in same]
    for group in linked:
        if len({cells[key] for key in group}) > 1:
            raise ValueError(f"linked cells {group!r} do not hold the same count")
    # One quantity in two places: algebraically the same cell (a = b, a margin of one part).
    margins = [*margins, *(Margin(g[0], (key,)) for g in linked for key in g[1:])]
    order = {key: i for i, key in enumerate(cells)}
    values: dict[K | Rest[K], int] = {key: value for key, value in cells.items()}
    for margin in margins:
        for key in (margin.total, *margin.parts):
            if key not in order:
                raise ValueError(f"margin {margin.total!r}: {key!r} is not a cell")
        rest = cells[margin.total] - sum(cells[p] for p in margin.parts)
        if rest < 0 or (margin.complete and rest != 0):
            raise ValueError(
                f"margin {margin.total!r}: the parts add up to {cells[margin.total] - rest}, "
                f"not to its {cells[margin.total]}"
            )
        if not margin.complete:
            values[Rest(margin)] = rest
    never, already = set(unpublished), set(suppressed)

    def small(key: K | Rest[K]) -> bool:
        value = values[key]
        return 0 < value < minimum if isinstance(key, Rest) else value < minimum

    units = _units(cells, linked)
    refused = {key for key in cells if key in never or key in already or small(key)}
    candidates = [unit for unit in units if not refused.intersection(unit)]
    # Hidden from the start: the small cells, those hidden for another reason and every cell
    # shown as one quantity with one of them.
    held = {key for unit in units if refused.intersection(unit) for key in unit} - never
    protected = [key for key in values if small(key) or key in held]
    space = _Space(values, margins, protected)
    space.known([key for key in values if isinstance(key, Rest) and not small(key)])
    candidates.sort(key=lambda unit: (-min(cells[k] for k in unit), min(order[k] for k in unit)))
    shown: set[K] = set()
    for unit in candidates:
        if space.show([k for k in unit if k not in shown]):
            shown.update(unit)
    return frozenset(key for key in cells if key not in shown and key not in never)


def _units(cells: Mapping[K, int], same: list[list[K]]) -> list[frozenset[K]]:
    """The cells grouped into what is shown or hidden together (linked cells merged)."""
    parent: dict[K, K] = {key: key for key in cells}

    def root(key: K) -> K:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for group in same:
        for key in group:
            if key not in parent:
                raise ValueError(f"linked cell {key!r} is not a cell")
        for key in group[1:]:
            parent[root(key)] = root(group[0])
    units: dict[K, set[K]] = {}
    for key in cells:
        units.setdefault(root(key), set()).add(key)
    return [frozenset(unit) for unit in units.values()]


class _Space(Generic[K]):
    """The table's cells as linear forms over the free parameters of its margins (a basis of
    the solutions of "total - parts = 0"), one independent system per connected group of
    margins; and for each group, the span of the shown cells' forms and what is left of the
    protected cells' forms outside it. A protected cell is determined exactly when nothing is
    left."""

    def __init__(
        self,
        values: Mapping[K | Rest[K], int],
        margins: list[Margin[K]],
        protected: list[K | Rest[K]],
    ) -> None:
        keys = list(values)
        index = {key: i for i, key in enumerate(keys)}
        equations: list[list[tuple[int, int]]] = []
        for margin in margins:
            terms = [(index[margin.total], 1)] + [(index[p], -1) for p in margin.parts]
            if not margin.complete:
                terms.append((index[Rest(margin)], -1))
            equations.append(terms)
        self._component: dict[K | Rest[K], tuple[int, int]] = {}
        self._groups: list[_Group] = []
        for members, rows in _connected(len(keys), equations):
            local = {cell: j for j, cell in enumerate(members)}
            matrix = np.zeros((len(rows), len(members)), dtype=np.int64)
            for r, row in enumerate(rows):
                for cell, coefficient in equations[row]:
                    matrix[r, local[cell]] = (matrix[r, local[cell]] + coefficient) % _P
            forms = _solutions(matrix)
            chosen = [local[index[key]] for key in protected if index[key] in local]
            group = _Group(forms, forms[chosen])
            for cell, j in local.items():
                self._component[keys[cell]] = (len(self._groups), j)
            self._groups.append(group)

    def _by_group(self, keys: list[K | Rest[K]]) -> dict[int, list[int]]:
        cells: dict[int, list[int]] = {}
        for key in keys:
            group, j = self._component[key]
            cells.setdefault(group, []).append(j)
        return cells

    def show(self, unit: list[K]) -> bool:
        """Show the unit's cells unless that would determine a protected cell."""
        results = [(g, self._groups[g].trial(c)) for g, c in self._by_group([*unit]).items()]
        if any(result is None for _, result in results):
            return False
        for g, result in results:
            assert result is not None
            self._groups[g].commit(*result)
        return True

    def known(self, keys: list[K | Rest[K]]) -> None:
        """Count these cells as shown whatever they reveal (nothing could hide them)."""
        for g, cells in self._by_group(keys).items():
            self._groups[g].force(cells)


class _Group:
    def __init__(self, forms: Ints, protected: Ints) -> None:
        self.forms = forms
        self.rows: list[tuple[int, Ints]] = []  # (pivot, form with 1 at its pivot)
        self.residues = protected
        # A cell determined by the margins alone (structurally 0) cannot be protected.
        self.alive = protected.any(axis=1)

    def _reduce(self, form: Ints, rows: list[tuple[int, Ints]]) -> Ints:
        for pivot, row in rows:
            if form[pivot]:
                form = (form - form[pivot] * row) % _P
        return form

    def force(self, cells: list[int]) -> None:
        new, residues = self._extended(cells)
        self.commit(new, residues)
        self.alive &= residues.any(axis=1)  # what they determine cannot be protected

    def trial(self, cells: list[int]) -> tuple[list[tuple[int, Ints]], Ints] | None:
        """The span's new rows and the protected residues if these cells were shown; None if
        that would determine a protected cell."""
        new, residues = self._extended(cells)
        if (self.alive & ~residues.any(axis=1)).any():
            return None
        return new, residues

    def _extended(self, cells: list[int]) -> tuple[list[tuple[int, Ints]], Ints]:
        new: list[tuple[int, Ints]] = []
        residues = self.residues
        for cell in cells:
            form = self._reduce(self._reduce(self.forms[cell].copy(), self.rows), new)
            nonzero = np.flatnonzero(form)
            if not len(nonzero):
                continue  # already a sum of shown cells: showing it tells nothing new
            pivot = int(nonzero[0])
            form = (form * pow(int(form[pivot]), _P - 2, _P)) % _P
            residues = (residues - residues[:, pivot, None] * form) % _P
            new.append((pivot, form))
        return new, residues

    def commit(self, new: list[tuple[int, Ints]], residues: Ints) -> None:
        self.rows.extend(new)
        self.residues = residues


def _connected(
    size: int, equations: list[list[tuple[int, int]]]
) -> list[tuple[list[int], list[int]]]:
    """The cells in groups joined by shared margins, each with its equations."""
    parent = list(range(size))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for terms in equations:
        for cell, _ in terms[1:]:
            parent[root(cell)] = root(terms[0][0])
    members: dict[int, list[int]] = {}
    for cell in range(size):
        members.setdefault(root(cell), []).append(cell)
    rows: dict[int, list[int]] = {}
    for r, terms in enumerate(equations):
        rows.setdefault(root(terms[0][0]), []).append(r)
    return [(cells, rows.get(key, [])) for key, cells in members.items()]


def _solutions(matrix: Ints) -> Ints:
    """Each cell's value as a linear form over free parameters that run through every
    solution of ``matrix @ cells = 0`` (mod the prime): one row per cell."""
    reduced, pivots = _rref(matrix)
    width = matrix.shape[1]
    free = [c for c in range(width) if c not in set(pivots)]
    forms = np.zeros((width, len(free)), dtype=np.int64)
    for j, c in enumerate(free):
        forms[c, j] = 1
    for i, c in enumerate(pivots):
        forms[c] = (-reduced[i, free]) % _P
    return forms


def _rref(matrix: Ints) -> tuple[Ints, list[int]]:
    """Reduced row echelon form mod the prime, and its pivot columns."""
    m = matrix % _P
    rows, cols = m.shape
    pivots: list[int] = []
    r = 0
    for c in range(cols):
        if r == rows:
            break
        nonzero = np.flatnonzero(m[r:, c])
        if not len(nonzero):
            continue
        k = r + int(nonzero[0])
        if k != r:
            m[[r, k]] = m[[k, r]]
        m[r] = (m[r] * pow(int(m[r, c]), _P - 2, _P)) % _P
        factors = m[:, c].copy()
        factors[r] = 0
        others = np.flatnonzero(factors)
        m[others] = (m[others] - factors[others, None] * m[r]) % _P
        pivots.append(c)
        r += 1
    return m[:r], pivots
