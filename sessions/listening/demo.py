"""Listening practice of the demo (``sessions.demo_data``): a child's two starter sets and three
weeks of answers that get better, with the usual mix-ups (sad heard as calm, angry as happy),
so the family page, the child page and the confusion chart have something to show.

Answers go through ``services.answer_record`` with ids derived from the child, so seeding twice
stores nothing new."""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone

from sessions.listening import services
from sessions.listening.models import ListeningSet
from sessions.models import Child, User

# Per week (oldest first): how many of each set's clips are answered right, in clip order.
RIGHT_PER_WEEK = (0.4, 0.6, 0.8)
LIKELY_MIXUP = {"sad": "calm", "angry": "happy", "calm": "sad", "happy": "angry"}
DEMO_NAMESPACE = uuid.UUID("6f1d3c1e-4c52-4a8e-9b1e-1c0c5e7a0016")


def seed_listening(child: Child, therapist: User, today: dt.date) -> int:
    """Assign the starter sets "Happy or sad?" and "Four feelings" (from three weeks ago) and
    answer them on three days of each week. Returns how many answers were stored."""
    start = today - dt.timedelta(weeks=3)
    stored = 0
    for key in ("happy-or-sad", "four-feelings"):
        listening_set = ListeningSet.objects.filter(clinic=child.clinic, starter_key=key).first()
        if listening_set is None:
            continue
        assignment = services.assignment_create(
            child=child, listening_set=listening_set, assigned_by=therapist,
            weekdays=(0, 2, 4), starts_on=start,
        )  # fmt: skip
        clips = list(listening_set.clips.order_by("emotion", "intensity", "created_at"))
        for week, share in enumerate(RIGHT_PER_WEEK):
            for day in (0, 2):
                when = timezone.make_aware(
                    dt.datetime.combine(start + dt.timedelta(weeks=week, days=day), dt.time(17))
                )
                for n, clip in enumerate(clips):
                    offered = services.item_choices(assignment, clip)
                    right = n < round(share * len(clips))
                    wrong = LIKELY_MIXUP.get(clip.emotion, "")
                    if wrong not in offered:
                        wrong = next(e for e in offered if e != clip.emotion)
                    _, created = services.answer_record(
                        assignment=assignment, clip_id=clip.pk,
                        chosen=clip.emotion if right else wrong,
                        client_id=uuid.uuid5(DEMO_NAMESPACE, f"{child.pk}:{key}:{week}:{day}:{n}"),
                        answered_by=None, response_ms=2600 - 500 * week + 150 * (not right),
                        answered_at=when + dt.timedelta(seconds=20 * n),
                    )  # fmt: skip
                    stored += int(created)
    return stored
