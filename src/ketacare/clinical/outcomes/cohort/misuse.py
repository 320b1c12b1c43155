"""Possible misuse or diversion signals among the patients who started: escalating doses,
sessions sooner than the protocol allows, and positive substance-use questionnaires after the
first dose. Prompts for clinic review, not diagnoses."""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Self

import numpy as np
import pandas as pd

from ketacare.clinical.datafiles import load
from ketacare.clinical.instruments import get as get_instrument
from ketacare.clinical.outcomes.cohort.columns import Bools, column_of, epoch_days, flag_of
from ketacare.clinical.outcomes.cohort.doses import dose_steps, ordered_sessions
from ketacare.clinical.outcomes.cohort.proportions import (
    Proportion,
    hidden_proportion,
    proportion,
)
from ketacare.clinical.outcomes.cohort.suppression import is_shown
from ketacare.clinical.protocols.library import get_protocol


@dataclass(frozen=True)
class Signal:
    """Patients (of the started ones) who showed a possible misuse signal, and how many
    sessions or screens raised it. ``screened``, for a signal that needs a questionnaire, is
    the patients who had one at all in its window: without it a 0 could be an absence of
    screens rather than of positive ones."""

    id: str
    patients: Proportion
    events: int | None
    rule: str
    source: str
    screened: Proportion | None = None
    suppressed: bool = False

    def suppressed_below(self, minimum: int) -> Self:
        """The patient shares and the event count hidden when small; the screened share also
        when the screened but negative patients (screened - flagged) would be a small cell."""
        patients = self.patients.suppressed_below(minimum)
        events = self.events if is_shown(self.events, minimum) else None
        screened = self.screened.suppressed_below(minimum) if self.screened else None
        if (
            screened is not None
            and screened.count is not None
            and patients.count is not None
            and not is_shown(screened.count - patients.count, minimum)
        ):
            screened = replace(
                screened, count=None, rate=None, ci_lower=None, ci_upper=None, suppressed=True
            )
        if patients is self.patients and events == self.events and screened is self.screened:
            return self
        return replace(self, patients=patients, events=events, screened=screened, suppressed=True)


@dataclass(frozen=True)
class MisuseSignals:
    """Possible misuse or diversion signals among the ``patients`` who started treatment."""

    patients: int | None
    escalating_doses: Signal
    early_requests: Signal
    positive_screens_after_start: Signal
    suppressed: bool = False

    def suppressed_below(self, minimum: int) -> Self:
        """Each signal suppressed; everything hidden when the cohort itself is small."""
        signals = [
            s.suppressed_below(minimum)
            for s in (self.escalating_doses, self.early_requests, self.positive_screens_after_start)
        ]
        patients = self.patients if is_shown(self.patients, minimum) else None
        if patients is None:
            signals = [
                replace(
                    s,
                    patients=hidden_proportion(),
                    events=None,
                    screened=hidden_proportion() if s.screened else None,
                    suppressed=True,
                )
                for s in signals
            ]
        return replace(
            self,
            patients=patients,
            escalating_doses=signals[0],
            early_requests=signals[1],
            positive_screens_after_start=signals[2],
            suppressed=patients is None or any(s.suppressed for s in signals),
        )


def _min_interval_days(protocol_id: str) -> float:
    try:
        return float(get_protocol(protocol_id).raw["induction"]["min_interval_days"])
    except (LookupError, TypeError):
        return np.nan  # an unknown protocol has no interval to break


@dataclass(frozen=True)
class _ScreenCutoff:
    instrument_id: str
    short_name: str
    total_min: int
    total_min_female: int | None
    source: str


def _screen_cutoffs() -> tuple[list[_ScreenCutoff], str]:
    """The substance-use screens of cohort.toml with each one's positive cut-off, read from
    the instrument's own flag so that the registry and the scored response agree."""
    data = load("cohort", package="ketacare.clinical.outcomes")
    flag_id = str(data["misuse_screen_flag"])
    cutoffs = []
    for instrument_id in data["misuse_screen_instruments"]:
        instrument = get_instrument(str(instrument_id))
        flag = next((f for f in instrument.flags if f.id == flag_id), None)
        if flag is None or flag.total_min is None:
            raise ValueError(f"{instrument.id} has no {flag_id!r} flag on its total")
        cutoffs.append(
            _ScreenCutoff(
                instrument.id,
                instrument.short_name,
                flag.total_min,
                flag.total_min_female,
                flag.source,
            )
        )
    return cutoffs, str(data["misuse_screen_source"])


def _screens_after_start(
    patients: pd.DataFrame, scores: pd.DataFrame, cutoffs: Sequence[_ScreenCutoff]
) -> tuple[Bools, Bools, int]:
    """Of ``cutoffs``' screens completed after the patient's first dose: per patient (a row
    of ``patients``; a repeated id counts at its first row) whether they had one and whether
    one was positive, and how many were. A woman's AUDIT-C takes the female cut-off, every
    other sex the general one, as ``instruments.scoring`` does (the dataset keeps totals, not
    the flags scored then)."""
    all_ids = pd.Index(column_of(patients, "patient_id").to_numpy())
    once = ~all_ids.duplicated()
    ids = all_ids[once]
    first_dose = epoch_days(column_of(patients, "first_dose_at"))[once]
    female = np.asarray(column_of(patients, "sex").eq("female").to_numpy(), dtype=bool)[once]

    # One comparison per screening instrument over the ids: with millions of scores every
    # pass over the string objects costs, and a hashed lookup (isin, get_indexer) costs more.
    instrument = column_of(scores, "instrument_id").to_numpy(dtype=object)
    which = np.full(len(instrument), -1, dtype=np.int64)
    for i, cutoff in enumerate(cutoffs):
        which[instrument == cutoff.instrument_id] = i
    chosen = which >= 0
    which = which[chosen]
    row = ids.get_indexer(column_of(scores, "patient_id").to_numpy()[chosen])
    t = epoch_days(column_of(scores, "completed_at")[chosen])
    total = pd.to_numeric(column_of(scores, "total")[chosen], errors="coerce").to_numpy(dtype=float)
    after = row >= 0
    # A NaN on either side (no first dose, no time) compares False: never after the start.
    after[after] = t[after] > first_dose[row[after]]
    after &= ~np.isnan(total)
    row, which, total = row[after], which[after], total[after]

    general = np.array([c.total_min for c in cutoffs], dtype=np.float64)
    for_women = np.array(
        [c.total_min if c.total_min_female is None else c.total_min_female for c in cutoffs],
        dtype=np.float64,
    )
    positive = total >= np.where(female[row], for_women[which], general[which])
    screened = np.zeros(len(ids), dtype=bool)
    screened[row] = True
    flagged = np.zeros(len(ids), dtype=bool)
    flagged[row[positive]] = True
    return screened, flagged, int(np.count_nonzero(positive))


def misuse_signals(
    patients: pd.DataFrame, sessions: pd.DataFrame, scores: pd.DataFrame
) -> MisuseSignals:
    """Possible misuse signals among the started patients:

    - ``escalating_doses``: a dose_mg higher than the previous session's twice in a row
      (same protocol);
    - ``early_requests``: a session dated fewer days after the patient's previous one than the
      session's protocol allows (``min_interval_days`` of its ``[induction]``), applied to
      every session;
    - ``positive_screens_after_start``: a substance-use questionnaire of cohort.toml's
      ``misuse_screen_instruments`` (AUDIT-C, DAST-10) completed after the first dose with a
      total at or above its instrument's positive cut-off (AUDIT-C's by the patient's sex).
      These are self-report questionnaire screens, not urine drug screens. ``screened`` says
      how many started patients had such a questionnaire after the first dose at all."""
    started = flag_of(patients, "started")
    started_ids = pd.Index(column_of(patients, "patient_id").to_numpy()[started])
    n = len(started_ids.unique())
    cohort = np.asarray(
        pd.Index(column_of(sessions, "patient_id").to_numpy()).isin(started_ids), dtype=bool
    )
    sessions = sessions.loc[cohort]
    patient, dose, same, order = ordered_sessions(sessions)
    up, _ = dose_steps(dose, same)
    escalation = np.zeros(len(up), dtype=bool)
    if len(up) > 1:
        escalation[1:] = up[1:] & up[:-1]  # up[i-1] already means row i-2 is the same patient

    day = epoch_days(column_of(sessions, "date"))
    # Without a session date, the UTC day of the dose stands in for it.
    day = np.where(np.isnan(day), np.floor(epoch_days(column_of(sessions, "dose_started_at"))), day)
    day = day[order]
    protocol_codes, protocol_ids = pd.factorize(column_of(sessions, "protocol_id"))
    minimum = {str(p): _min_interval_days(str(p)) for p in protocol_ids}
    # A session without a protocol (code -1) takes the appended NaN: no interval to break.
    intervals_by_code = np.array([*(minimum[str(p)] for p in protocol_ids), np.nan])
    allowed = intervals_by_code[np.asarray(protocol_codes)[order]]
    early = np.zeros(len(day), dtype=bool)
    if len(day) > 1:
        repeat = patient[1:] == patient[:-1]
        early[1:] = repeat & (np.floor(day[1:] - day[:-1]) < allowed[1:])

    def signal(signal_id: str, rows: Bools, rule: str, source: str) -> Signal:
        flagged = len(np.unique(patient[rows]))
        return Signal(signal_id, proportion(flagged, n), int(np.count_nonzero(rows)), rule, source)

    cutoffs, screens_source = _screen_cutoffs()
    screened, flagged, positive_screens = _screens_after_start(
        patients.loc[started], scores, cutoffs
    )
    cut_offs = ", ".join(
        f"{c.short_name} >= {c.total_min}"
        + (f" (women >= {c.total_min_female})" if c.total_min_female is not None else "")
        for c in cutoffs
    )
    screens_signal = Signal(
        "positive_screens_after_start",
        proportion(int(np.count_nonzero(flagged)), n),
        positive_screens,
        f"a positive substance-use questionnaire after the first dose ({cut_offs}); "
        "self-report questionnaire screens, not urine drug screens",
        "; ".join([screens_source, *(f"{c.short_name}: {c.source}" for c in cutoffs)]),
        screened=proportion(int(np.count_nonzero(screened)), n),
    )

    intervals = ", ".join(
        f"{get_protocol(p).name} {minimum[p]:g} days"
        for p in sorted(minimum)
        if np.isfinite(minimum[p])
    )
    return MisuseSignals(
        patients=n,
        escalating_doses=signal(
            "escalating_doses",
            escalation,
            "a dose higher than the previous session's at two consecutive sessions (same protocol)",
            "ketacare registry signal (clinic review prompt, not a diagnosis)",
        ),
        early_requests=signal(
            "early_requests",
            early,
            "a session sooner after the previous one than the protocol's minimum interval "
            f"({intervals or 'none'})",
            "the protocol's induction data: its minimum interval between sessions",
        ),
        positive_screens_after_start=screens_signal,
    )
