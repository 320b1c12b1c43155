"""Column-wise helpers over the dataset's DataFrames: a column (all None when absent), a
boolean flag, timestamps as exact epoch nanoseconds or float epoch days, and each patient's
first or last row in sorted order, all without a Python loop over rows."""

import numpy as np
import numpy.typing as npt
import pandas as pd

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]

_NS_PER_DAY = 86_400 * 10**9


def column_of(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column ``name``, or a column of None when the frame has no such column."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def flag_of(frame: pd.DataFrame, name: str) -> Bools:
    """True where the column ``name`` is True (missing and None count as False)."""
    return np.asarray(column_of(frame, name).eq(True).to_numpy(), dtype=bool)


def epoch_nanos(values: pd.Series) -> tuple[Ints, Bools]:
    """Timestamps as int nanoseconds since the epoch (exact), and which are missing."""
    # cache=False: to_datetime would otherwise walk every value to decide whether to cache.
    stamps = pd.to_datetime(values, utc=True, cache=False).dt.tz_localize(None)
    raw = stamps.to_numpy(dtype="datetime64[ns]")
    return np.asarray(raw.astype(np.int64), dtype=np.int64), np.asarray(np.isnat(raw), dtype=bool)


def nanos_to_days(nanos: Ints, missing: Bools) -> Floats:
    """Epoch nanoseconds as float days since the epoch, NaN where ``missing``."""
    days = nanos.astype(np.float64) / _NS_PER_DAY
    days[missing] = np.nan
    return np.asarray(days, dtype=np.float64)


def epoch_days(values: pd.Series) -> Floats:
    """Timestamps as float days since the epoch (NaN for missing)."""
    return nanos_to_days(*epoch_nanos(values))


def firsts(keys: Ints) -> Ints:
    """Positions where a new key starts in a sorted key array."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return np.asarray(starts, dtype=np.int64)


def lasts(keys: Ints) -> Ints:
    """Positions where a key ends in a sorted key array."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.flatnonzero(np.r_[keys[1:] != keys[:-1], True])
    return np.asarray(ends, dtype=np.int64)


def by_patient_and_time(patient: Ints, t: Floats) -> Ints:
    """The order sorting by patient, then time (two stable argsorts: much faster than
    ``np.lexsort`` on millions of rows)."""
    by_time = np.argsort(t, kind="stable")
    return np.asarray(by_time[np.argsort(patient[by_time], kind="stable")], dtype=np.int64)


def each_patient(patient: Ints, t: Floats, positions: Ints, last: bool) -> Ints:
    """Of the given positions, each patient's first (or last) by time."""
    ordered = positions[by_patient_and_time(patient[positions], t[positions])]
    keys = patient[ordered]
    return ordered[lasts(keys) if last else firsts(keys)]
