"""Demo blind labels (``sessions.demo_data.seed_demo`` calls this): two therapists' blind
answers on the demo clinic's analysed segments, so the validation page has figures on first
login, and a few segments left in the first therapist's queue.

The answers are made up (deterministic): the first therapist agrees with the model on about
seven segments in ten, the second with the first on about eight in ten. They are demo data,
never evidence about any model.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.db import transaction
from django.utils import timezone

from analysis.engine.labels import CANONICAL_LABELS
from analysis.models import RunStatus, Segment
from sessions.models import Clinic
from sessions.validation.models import ReviewItem
from sessions.validation.services import week_of, weekly_sample_draw

# The emotion a person hears instead, when they do not hear the model's.
_NEIGHBOUR = {
    "neutral": "calm",
    "calm": "neutral",
    "happy": "surprised",
    "sad": "neutral",
    "angry": "disgust",
    "fearful": "sad",
    "disgust": "angry",
    "surprised": "happy",
}


def _draw(key: str) -> float:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


@transaction.atomic
def seed_blind_labels(
    clinic: Clinic, first: Any, second: Any, *, today: dt.date | None = None
) -> int:
    """Answered blind-review items by ``first`` (all) and ``second`` (every other one) on the
    clinic's analysed segments of ``first``'s sessions, spread over the three weeks before this
    one; this week's sample of the rest then waits in ``first``'s queue. Runs once: a clinic
    with review items is left alone. Returns the number of items created."""
    if ReviewItem.objects.filter(child__clinic=clinic).exists():
        return 0
    today = today or timezone.localdate()
    segments = list(
        Segment.objects.filter(
            run__status=RunStatus.DONE,
            run__recording__session__therapist=first,
            run__recording__session__child__clinic=clinic,
        )
        .select_related("run__recording__session")
        .order_by("run__recording_id", "index")
    )
    keep = [s for i, s in enumerate(segments) if i % 4 != 3]  # a quarter left for the queue
    now = timezone.now()
    created = 0
    for i, segment in enumerate(keep):
        week = week_of(today - dt.timedelta(weeks=1 + i % 3))
        child_id = segment.run.recording.session.child_id
        key = str(segment.pk)
        agree = _draw(key + "first") < 0.7
        emotion = segment.emotion if agree else _NEIGHBOUR.get(segment.emotion, "neutral")
        if emotion not in CANONICAL_LABELS:
            emotion = "neutral"
        speaker = segment.speaker if segment.speaker in ("child", "therapist") else "other"
        ReviewItem.objects.create(
            segment=segment, child_id=child_id, rater=first, week=week, reason="random",
            emotion=emotion, speaker=speaker, answered_at=now,
        )  # fmt: skip
        created += 1
        if i % 2 == 0:
            same = _draw(key + "second") < 0.8
            ReviewItem.objects.create(
                segment=segment, child_id=child_id, rater=second, week=week, reason="random",
                second_rater=True, emotion=emotion if same else _NEIGHBOUR[emotion],
                speaker=speaker, answered_at=now,
            )  # fmt: skip
            created += 1
    return created + weekly_sample_draw(clinic=clinic, week=today)
