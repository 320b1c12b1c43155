"""Safety over the dosed sessions: adverse events per 100 sessions, severe hypertension,
gate overrides and the patients' dose titration."""

from dataclasses import dataclass, replace
from typing import Self

import numpy as np
import pandas as pd

from ketacare.clinical.outcomes.cohort.columns import column_of, flag_of
from ketacare.clinical.outcomes.cohort.doses import dose_steps, ordered_sessions
from ketacare.clinical.outcomes.cohort.proportions import Proportion, proportion
from ketacare.clinical.outcomes.cohort.suppression import hide_parts, is_shown

SEVERE = "severe"


@dataclass(frozen=True)
class EventRate:
    """Adverse events of one kind ("all" for every kind) per 100 dosed sessions."""

    kind: str
    events: int | None
    per_100_sessions: float | None
    severe: int | None
    severe_per_100_sessions: float | None
    suppressed: bool = False


@dataclass(frozen=True)
class Titration:
    """Patients by the path of their dose_mg from session to session (changes counted only
    between consecutive sessions of the same protocol)."""

    patients: int | None
    rose: int | None
    """Only increases."""
    fell: int | None
    """Only decreases."""
    stayed: int | None
    """Two or more sessions, never a change."""
    mixed: int | None
    """Both increases and decreases."""
    single_session: int | None
    suppressed: bool = False


@dataclass(frozen=True)
class Safety:
    """Adverse events, severe hypertension, gate overrides and dose titration over the dosed
    sessions."""

    sessions: int | None
    patients: int | None
    all_events: EventRate
    by_kind: tuple[EventRate, ...]
    """Most frequent first."""
    severe_hypertension_sessions: Proportion
    severe_hypertension_patients: Proportion
    gate_overrides: Proportion
    titration: Titration
    suppressed: bool = False

    def suppressed_below(self, minimum: int) -> Self:
        """Small counts (events, patients, sessions) and the rates derived from them hidden."""
        sessions = self.sessions if is_shown(self.sessions, minimum) else None
        patients = self.patients if is_shown(self.patients, minimum) else None
        all_events, kind_events = hide_parts(
            self.all_events.events, [k.events for k in self.by_kind], minimum
        )
        all_severe, kind_severe = hide_parts(
            self.all_events.severe, [k.severe for k in self.by_kind], minimum
        )
        rows = [
            _event_rate_hidden(row, events, severe, sessions, minimum)
            for row, events, severe in zip(
                (self.all_events, *self.by_kind),
                (all_events, *kind_events),
                (all_severe, *kind_severe),
                strict=True,
            )
        ]
        t = self.titration
        total, (rose, fell, stayed, mixed, single) = hide_parts(
            t.patients, [t.rose, t.fell, t.stayed, t.mixed, t.single_session], minimum
        )
        titration = Titration(
            total,
            rose,
            fell,
            stayed,
            mixed,
            single,
            suppressed=(total, rose, fell, stayed, mixed, single)
            != (t.patients, t.rose, t.fell, t.stayed, t.mixed, t.single_session),
        )
        proportions = [
            p.suppressed_below(minimum)
            for p in (
                self.severe_hypertension_sessions,
                self.severe_hypertension_patients,
                self.gate_overrides,
            )
        ]
        changed = (
            sessions != self.sessions
            or patients != self.patients
            or titration.suppressed
            or any(r.suppressed for r in rows)
            or any(p.suppressed for p in proportions)
        )
        return replace(
            self,
            sessions=sessions,
            patients=patients,
            all_events=rows[0],
            by_kind=tuple(rows[1:]),
            severe_hypertension_sessions=proportions[0],
            severe_hypertension_patients=proportions[1],
            gate_overrides=proportions[2],
            titration=titration,
            suppressed=changed,
        )


def _event_rate_hidden(
    row: EventRate, events: int | None, severe: int | None, sessions: int | None, minimum: int
) -> EventRate:
    if events is not None and severe is not None and not is_shown(events - severe, minimum):
        severe = None  # the non-severe remainder would be a small cell
    if sessions is None:
        events = severe = None
    if events == row.events and severe == row.severe:
        return row
    return replace(
        row,
        events=events,
        per_100_sessions=row.per_100_sessions if events is not None else None,
        severe=severe,
        severe_per_100_sessions=row.severe_per_100_sessions if severe is not None else None,
        suppressed=True,
    )


def safety(sessions: pd.DataFrame, adverse_events: pd.DataFrame) -> Safety:
    """Safety over the dosed sessions: adverse events per 100 sessions, overall and by kind
    (and the severe ones); severe-hypertension alerts per session and per patient and gate
    overrides per session, with Wilson intervals; and the patients' dose_mg paths (rose, fell,
    stayed, mixed, a single session; changes counted between consecutive sessions of the same
    protocol, since mg are not comparable across routes)."""
    n_sessions = len(sessions)
    codes, _ = pd.factorize(column_of(sessions, "patient_id"))
    n_patients = int(codes.max()) + 1 if len(codes) else 0

    kind = column_of(adverse_events, "kind").fillna("other").astype(str)
    severe = column_of(adverse_events, "severity").eq(SEVERE).to_numpy()

    def per_100(count: int) -> float | None:
        return 100 * count / n_sessions if n_sessions else None

    def rate(kind_id: str, events: int, severe_events: int) -> EventRate:
        return EventRate(kind_id, events, per_100(events), severe_events, per_100(severe_events))

    counts = kind.value_counts()
    severe_counts = kind[severe].value_counts()
    by_kind = tuple(
        rate(str(k), int(counts[k]), int(severe_counts.get(k, 0)))
        for k in sorted(counts.index, key=lambda k: (-int(counts[k]), str(k)))
    )

    alerted = flag_of(sessions, "severe_hypertension")
    alerted_patients = np.zeros(n_patients, dtype=bool)
    alerted_patients[codes[alerted]] = True

    patient, dose, same, _ = ordered_sessions(sessions)
    up, down = dose_steps(dose, same)
    per_patient = np.bincount(patient, minlength=n_patients)
    ups = np.bincount(patient, weights=up, minlength=n_patients) > 0
    downs = np.bincount(patient, weights=down, minlength=n_patients) > 0
    several = per_patient > 1
    titration = Titration(
        patients=n_patients,
        rose=int(np.count_nonzero(several & ups & ~downs)),
        fell=int(np.count_nonzero(several & downs & ~ups)),
        stayed=int(np.count_nonzero(several & ~ups & ~downs)),
        mixed=int(np.count_nonzero(several & ups & downs)),
        single_session=int(np.count_nonzero(~several)),
    )
    return Safety(
        sessions=n_sessions,
        patients=n_patients,
        all_events=rate("all", len(kind), int(np.count_nonzero(severe))),
        by_kind=by_kind,
        severe_hypertension_sessions=proportion(int(np.count_nonzero(alerted)), n_sessions),
        severe_hypertension_patients=proportion(
            int(np.count_nonzero(alerted_patients)), n_patients
        ),
        gate_overrides=proportion(
            int(np.count_nonzero(flag_of(sessions, "gate_overridden"))), n_sessions
        ),
        titration=titration,
    )
