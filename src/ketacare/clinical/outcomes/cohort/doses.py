"""Dosed sessions in order, patient by patient, and the dose steps between consecutive
sessions of the same protocol (mg are not comparable across routes): what the safety panel's
titration and the escalating-dose signal count."""

import numpy as np
import pandas as pd

from ketacare.clinical.outcomes.cohort.columns import (
    Bools,
    Floats,
    Ints,
    by_patient_and_time,
    column_of,
    epoch_days,
)


def ordered_sessions(sessions: pd.DataFrame) -> tuple[Ints, Floats, Bools, Ints]:
    """Sessions sorted by patient and dose time: patient codes, dose_mg, whether the previous
    row is the same patient on the same protocol, and the sort order."""
    codes, _ = pd.factorize(column_of(sessions, "patient_id"))
    codes = np.asarray(codes, dtype=np.int64)
    order = by_patient_and_time(codes, epoch_days(column_of(sessions, "dose_started_at")))
    patient = codes[order]
    protocol = np.asarray(pd.factorize(column_of(sessions, "protocol_id"))[0])[order]
    dose = pd.to_numeric(column_of(sessions, "dose_mg"), errors="coerce").to_numpy(dtype=float)
    dose = dose[order]
    same = np.zeros(len(order), dtype=bool)
    if len(order) > 1:
        same[1:] = (patient[1:] == patient[:-1]) & (protocol[1:] == protocol[:-1])
    return patient, dose, same, np.asarray(order, dtype=np.int64)


def dose_steps(dose: Floats, same: Bools) -> tuple[Bools, Bools]:
    """Whether each session's dose rose (first) or fell (second) from the previous session
    of the same patient and protocol."""
    up = np.zeros(len(dose), dtype=bool)
    down = np.zeros(len(dose), dtype=bool)
    if len(dose) > 1:
        previous = dose[:-1]
        up[1:] = same[1:] & (dose[1:] > previous)
        down[1:] = same[1:] & (dose[1:] < previous)  # NaN compares False: no change counted
    return up, down
