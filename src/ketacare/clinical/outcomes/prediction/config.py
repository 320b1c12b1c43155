"""The numbers of ``outcomes/data/prediction.toml``, checked when read."""

from dataclasses import dataclass
from functools import cache

from ketacare.clinical.datafiles import load


@dataclass(frozen=True)
class Settings:
    """The numbers of ``outcomes/data/prediction.toml``."""

    instrument_id: str
    early_change_min_days: float
    min_labelled_patients: int
    events_per_feature: int
    l2_c: float
    cv_folds: int
    calibration_bins: int
    bootstrap_refits: int
    seed: int
    version: str
    source: str
    minimum_source: str
    """Where the minimum-data numbers come from (shown when the model is withheld)."""


@cache
def settings() -> Settings:
    """The prediction settings from ``outcomes/data/prediction.toml``."""
    data = load("prediction", package="ketacare.clinical.outcomes")
    config = Settings(
        instrument_id=str(data["instrument_id"]),
        early_change_min_days=float(data["early_change_min_days"]),
        min_labelled_patients=int(data["min_labelled_patients"]),
        events_per_feature=int(data["events_per_feature"]),
        l2_c=float(data["l2_c"]),
        cv_folds=int(data["cv_folds"]),
        calibration_bins=int(data["calibration_bins"]),
        bootstrap_refits=int(data["bootstrap_refits"]),
        seed=int(data["seed"]),
        version=str(data["version"]),
        source=str(data["source"]),
        minimum_source=(f"{data['min_labelled_source']}; {data['events_per_feature_source']}"),
    )
    if config.early_change_min_days <= 0:
        raise ValueError("early_change_min_days must be positive (the baseline is not early)")
    if config.cv_folds < 2 or config.calibration_bins < 1 or config.bootstrap_refits < 20:
        raise ValueError(
            "prediction.toml needs cv_folds >= 2, calibration_bins >= 1, bootstrap_refits >= 20"
        )
    return config
