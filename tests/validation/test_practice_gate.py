"""A practice try is scored only where the clinic's blind labels back the model on the emotion
it heard; otherwise the child hears that we could not tell."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.registry.active import forget_loaded_models
from sessions.exercises import attempts
from sessions.validation import services
from sessions.validation.models import ReviewItem, ValidationSettings
from tests.analysis.audio_factory import write_speechlike_wav
from tests.conftest import Cast, grant_consent
from tests.exercises.factories import make_assignment, make_attempt, make_exercise
from tests.model_factory import register_tiny_model
from tests.validation.helpers import analysed, label

pytestmark = pytest.mark.django_db

# The tiny model's emotions (tests/model_factory.py TINY_MAP).
HEARD = ["neutral", "happy", "angry", "sad"]
OTHER = {"neutral": "sad", "happy": "angry", "angry": "happy", "sad": "neutral"}


def test_no_stars_where_the_clinic_never_saw_the_model_agree(cast: Cast, tmp_path: Path) -> None:
    forget_loaded_models()
    grant_consent(cast.child)
    model = register_tiny_model(cast.clinic, min_confidence=0.0)
    ValidationSettings.objects.create(clinic=cast.clinic, weekly_sample_size=40, uncertain_share=0)
    analysed(cast.session, model, [(2.0 * i, 2.0 * i + 1.5, HEARD[i % 4], 0.9) for i in range(40)])
    services.weekly_sample_draw(clinic=cast.clinic)
    for item in ReviewItem.objects.select_related("segment"):
        label(item, OTHER[item.segment.emotion])  # therapists never agree with it
    assignment = make_assignment(cast.child, make_exercise(cast.clinic))
    attempt = make_attempt(
        assignment, audio=write_speechlike_wav(tmp_path / "a.wav", seconds=4.0).read_bytes()
    )
    assert attempts.attempt_process(attempt.pk) == "unclear"
    attempt.refresh_from_db()
    assert attempt.error_code == "unclear_unvalidated"
    assert attempt.stars is None and "couldn't tell" in attempt.message
    forget_loaded_models()
