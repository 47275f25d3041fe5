"""Rules that used to exist twice with different behaviour, each now in one place: these tests
pin the behaviour the single copy keeps."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from analysis.models import AnalysisRun
from sessions.models import Recording
from sessions.workspace.models import SegmentEdit
from tests.analysis.model_archives import speechlike_wav_bytes
from tests.conftest import Cast, grant_consent
from tests.factories import recording_for
from tests.families.helpers import analyse

pytestmark = pytest.mark.django_db


def _therapist_label(run: AnalysisRun, emotion: str, author: Any) -> SegmentEdit:
    return SegmentEdit.objects.create(
        run=run,
        operation="relabel",
        start_s=0.0,
        end_s=1.5,
        speaker="child",
        emotion=emotion,
        emotion_by_therapist=True,
        author=author,
    )


def _reanalysed_and_corrected_twice(cast: Cast) -> tuple[Recording, SegmentEdit, SegmentEdit]:
    """One recording analysed, corrected, analysed again and corrected again (the first run's
    corrections stay active: they belong to that run)."""
    recording = recording_for(cast.session, speechlike_wav_bytes(3.0), name="twice.wav")
    first_run = analyse(recording, {"happy": 1.0}, finished_at=timezone.now() - dt.timedelta(1))
    first = _therapist_label(first_run, "sad", cast.therapist)
    second_run = analyse(recording, {"happy": 1.0})
    second = _therapist_label(second_run, "angry", cast.therapist)
    grant_consent(cast.child, "training")
    return recording, first, second


# --- corrected segments: the training data ---------------------------------------------------


def test_reanalysed_corrected_recording_counts_once_in_training_data(cast: Cast) -> None:
    from analysis.registry.selectors import clips_from_corrections
    from sessions.workspace.selectors import corrected_segments

    _, _, second = _reanalysed_and_corrected_twice(cast)
    clips, stats = clips_from_corrections(cast.clinic)
    assert [(clip.label, clip.key) for clip in clips] == [("angry", f"edit:{second.pk}")]
    assert stats["clips"] == 1
    assert [edit.pk for edit in corrected_segments(clinic=cast.clinic)] == [second.pk]
