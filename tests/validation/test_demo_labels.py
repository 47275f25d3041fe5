"""The demo's blind labels: two therapists, figures on the validation page, once."""

from __future__ import annotations

import pytest

from sessions.models import Role
from sessions.validation import selectors
from sessions.validation.demo import seed_blind_labels
from sessions.validation.models import ReviewItem
from tests.conftest import Cast
from tests.factories import member
from tests.validation.helpers import analysed, features_model

pytestmark = pytest.mark.django_db


def test_demo_labels_give_the_page_both_kappas_and_leave_a_queue(cast: Cast) -> None:
    model = features_model(cast.clinic)
    colleague = member(cast.clinic, Role.THERAPIST, email="tove@sunny.test")
    emotions = ["happy", "sad", "neutral", "angry"]
    analysed(
        cast.session, model, [(2.0 * i, 2.0 * i + 1.5, emotions[i % 4], 0.7) for i in range(24)]
    )
    created = seed_blind_labels(cast.clinic, cast.therapist, colleague)
    assert created > 0
    firsts = ReviewItem.objects.filter(rater=cast.therapist, second_rater=False)
    assert firsts.filter(answered_at__isnull=False).count() == 18
    assert ReviewItem.objects.filter(rater=colleague, answered_at__isnull=False).count() == 9
    assert firsts.filter(answered_at__isnull=True).count() == 6  # this week's queue
    report = selectors.version_report(model)
    assert report["n"] == 18 and report["kappa"] is not None
    assert report["double"]["n"] == 9 and report["double"]["human_kappa"] is not None
    assert len(report["by_week"]) == 3
    assert seed_blind_labels(cast.clinic, cast.therapist, colleague) == 0
