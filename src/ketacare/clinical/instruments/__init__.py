"""Validated questionnaires as data (``data/<id>.toml``) and their scoring.

>>> score(get("phq9"), [1, 1, 1, 1, 1, 1, 1, 1, 1]).severity
'mild'
"""

from ketacare.clinical.instruments.batch import BatchScores, score_batch
from ketacare.clinical.instruments.definitions import (
    INSTRUMENT_IDS,
    Instrument,
    UnknownInstrumentError,
    get,
)
from ketacare.clinical.instruments.scoring import AnswerError, Score, score

__all__ = [
    "INSTRUMENT_IDS",
    "AnswerError",
    "BatchScores",
    "Instrument",
    "Score",
    "UnknownInstrumentError",
    "get",
    "score",
    "score_batch",
]
