"""The patient flow: how many patients passed each step and every earlier one, so that the
selection behind every other figure is visible."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ketacare.clinical.instruments import get as get_instrument
from ketacare.clinical.outcomes.cohort.columns import column_of, epoch_days, flag_of


@dataclass(frozen=True)
class FlowStep:
    """One step of the patient flow: ``count`` patients passed it and every earlier step;
    ``dropped`` of the previous step's patients did not (None on the first step)."""

    id: str
    label: str
    rule: str
    count: int | None
    dropped: int | None
    share_of_previous: float | None
    suppressed: bool = False


FLOW_STEPS = (
    ("screened", "Screened", "every registered patient of the cohort"),
    ("evaluated", "Evaluated", "a signed pre-treatment evaluation"),
    ("eligible", "Eligible", "some route not blocked, or a blocked one overridden"),
    ("started", "Started", "at least one dose given"),
    ("completed_induction", "Completed induction", "every induction session of the plan done"),
    ("follow_up", "With follow-up data", "a score after the induction's last dose"),
)


def flow(
    patients: pd.DataFrame, scores: pd.DataFrame | None = None, instrument_id: str = "phq9"
) -> list[FlowStep]:
    """The patient flow screened -> evaluated -> eligible -> started -> completed induction ->
    with follow-up data (a score of ``instrument_id`` after the induction's last dose), each
    step counting the patients who passed it and every earlier one, with the share of the
    previous step and how many dropped out, so that selection bias is visible. Without
    ``scores`` the follow-up step counts 0."""
    passed = np.ones(len(patients), dtype=bool)
    masks = [passed]
    for column in ("evaluated", "eligible", "started", "completed_induction"):
        passed = passed & flag_of(patients, column)
        masks.append(passed)
    followed = np.zeros(len(patients), dtype=bool)
    if scores is not None and len(patients):
        last = pd.Series(
            epoch_days(column_of(patients, "last_induction_dose_at")),
            index=column_of(patients, "patient_id").to_numpy(),
        )
        chosen = scores.loc[column_of(scores, "instrument_id").to_numpy() == instrument_id]
        after = epoch_days(column_of(chosen, "completed_at")) > last.reindex(
            column_of(chosen, "patient_id").to_numpy()
        ).to_numpy(dtype=float)
        with_follow_up = pd.Index(column_of(chosen, "patient_id").to_numpy()[after]).unique()
        followed = np.asarray(
            pd.Index(column_of(patients, "patient_id").to_numpy()).isin(with_follow_up), dtype=bool
        )
    masks.append(passed & followed)

    steps: list[FlowStep] = []
    previous: int | None = None
    for (step_id, label, rule), mask in zip(FLOW_STEPS, masks, strict=True):
        count = int(np.count_nonzero(mask))
        named = get_instrument(instrument_id).short_name
        rule_text = f"{rule} ({named})" if step_id == "follow_up" else rule
        steps.append(
            FlowStep(
                step_id,
                label,
                rule_text,
                count,
                None if previous is None else previous - count,
                None if previous is None else (count / previous if previous else None),
            )
        )
        previous = count
    return steps
