"""Practice feedback gives stars for an emotion only from the clinic's threshold for it."""

from __future__ import annotations

import numpy as np

from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.practice import feedback
from analysis.engine.practice.assess import unvalidated_reason


def _probs(label: str, p: float) -> np.ndarray:
    row = np.full(len(CANONICAL_LABELS), (1 - p) / (len(CANONICAL_LABELS) - 1))
    row[CANONICAL_LABELS.index(label)] = p
    return row


def test_below_the_emotions_threshold_is_unvalidated() -> None:
    thresholds = {"happy": 0.6, "sad": 1.01}
    assert unvalidated_reason(_probs("happy", 0.7), thresholds) == ""
    assert unvalidated_reason(_probs("happy", 0.55), thresholds) == "unvalidated"
    # The clinic never saw the model agree on "sad": never stars for it.
    assert unvalidated_reason(_probs("sad", 0.99), thresholds) == "unvalidated"
    # No threshold for an emotion: nothing to hold it back here.
    assert unvalidated_reason(_probs("angry", 0.3), thresholds) == ""


def test_unvalidated_tells_the_child_it_could_not_tell() -> None:
    assert "couldn't tell" in feedback.unclear_message("unvalidated")
